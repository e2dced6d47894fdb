"""What the session does when its tracker comes back as another outlet (see ``app.acquisition.follow``).

:func:`tracker_returned` records the returned outlet in the run's XDF (a new stream when its source_id or
channel layout changed; liblsl's own recovery keeps recording an identical one in the same stream) and
returns the operator's one line and the ``session.json`` ``tracker_changes`` record.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import RecordingError


def tracker_returned(old: Any, new: Any, problem: str | None, recorder: Any,
                     channel_map: Any) -> tuple[str, dict[str, Any]]:
    """``old``/``new`` are StreamDescriptions; ``problem`` why ``new`` cannot be mapped (None: it is mapped by
    ``channel_map``); ``recorder`` the running XdfRecorder (None before it starts)."""
    from app.acquisition.follow import layout_change

    what = layout_change(old, new) or "a new outlet"
    recorded = "not recorded"
    if recorder is not None and (what != "a new outlet" or problem):
        try:
            recorder.switch_stream(old.uid, new.resolved)
            recorded = "recorded as a new stream in the same XDF"
        except RecordingError as exc:
            recorded = f"not recorded ({exc})"
    elif recorder is not None:
        recorded = "recorded in the same stream"
    if problem:
        message = (f"tracker {new.name} on {new.hostname} came back ({what}) but cannot be used for gaze: "
                   f"{problem}; {recorded}")
    else:
        message = f"tracker {new.name} on {new.hostname} came back ({what}), {recorded}; layout: {channel_map.describe()}"
    record = {"from": {"source_id": old.source_id, "uid": old.uid, "n_channels": old.n_channels},
              "to": {"source_id": new.source_id, "uid": new.uid, "n_channels": new.n_channels},
              "change": what, "problem": problem, "recorded": recorded,
              "channel_map": None if problem else channel_map.to_record()}
    return message, record
