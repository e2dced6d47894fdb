"""Following a tracker across restarts: the same app on the same host, whatever its new source_id.

liblsl recovers an inlet by itself only when the stream comes back with the *same* source_id (and it
does not check that the channel layout stayed the same). A vendor app that is restarted, or a replugged
device, often comes back with another source_id: :func:`find_returned` looks for it by name, type and
host, and :func:`layout_change` says what changed, so the acquisition can switch to it (re-checking the
channel layout) and the recorder can add it to the same XDF as a new stream.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from app.acquisition.discovery import StreamDescription, _full_info, _quote, describe
from app.core.streams import SIM_GAZE

log = logging.getLogger(__name__)


def find_returned(stream: StreamDescription, seen_uids: Collection[str], timeout: float = 0.3) -> list[StreamDescription]:
    """Streams with the name, type and host of ``stream`` that are new (their uid is not in ``seen_uids``).

    POV Lab's own simulator is followed by its source_id only: every simulator has the same name, so a
    name says nothing about which one it is (a session starts its simulator itself, it never restarts).
    """
    import pylsl

    pred = (f"name='{_quote(stream.name)}' and type='{_quote(stream.type)}' and "
            f"hostname='{_quote(stream.hostname)}'")
    if stream.name == SIM_GAZE.name:
        pred += f" and source_id='{_quote(stream.source_id)}'"
    out = []
    for short in pylsl.resolve_bypred(pred, 0, timeout):  # every one that answers: the old one may, too
        if short.uid() in seen_uids:
            continue
        try:
            out.append(describe(_full_info(short, 1.0), short))
        except Exception as exc:  # noqa: BLE001 - a stream that vanishes again is looked for again later
            log.info("returned stream %s not readable yet: %s", short.name(), exc)
    return out


def choose_returned(old: StreamDescription, found: list[StreamDescription]) -> StreamDescription | None:
    """The returned tracker among ``found``: the one with the old source_id, else the only one, else None
    (several new streams of that name on that host: which one is the tracker is not known, so none)."""
    same = [d for d in found if d.source_id == old.source_id]
    if same:
        return same[0]
    return found[0] if len(found) == 1 else None


def layout_change(old: StreamDescription, new: StreamDescription) -> str:
    """What differs between the old and the returned stream ("" when only the outlet instance changed)."""
    parts = []
    if new.source_id != old.source_id:
        parts.append(f"source_id {old.source_id or '-'} -> {new.source_id or '-'}")
    if new.n_channels != old.n_channels:
        parts.append(f"{old.n_channels} -> {new.n_channels} channels")
    elif new.labels != old.labels:
        parts.append("other channel labels")
    if new.channel_format != old.channel_format:
        parts.append(f"format {old.channel_format} -> {new.channel_format}")
    if new.rate_hz != old.rate_hz:
        parts.append(f"rate {old.rate_hz:g} -> {new.rate_hz:g} Hz")
    return ", ".join(parts)
