"""LSL outlets for the streams POV Lab publishes (markers, fixations, predictions, simulated gaze).

Usage::

    from app.acquisition.outlets import open_outlet
    from app.core.streams import MARKERS
    out = open_outlet(MARKERS, source_id="povlab-markers-<session>")
    out.push("TRIALID 1", timestamp=flip_time)      # one string sample
    out.push([t0, dur, x, y, n, k])                  # one numeric sample, stamped now
    out.push_chunk(array_n_by_channels, timestamps)  # many samples
    out.close()

Every outlet carries ``desc/channels/channel`` metadata (label, unit, type; for ``Gaze`` streams
also ``eye`` and ScreenX/ScreenY/Diameter types, as in the XDF Gaze Meta-Data) and
``desc/acquisition`` (software name and version), so XDF readers can interpret it.
pylsl is imported lazily (only when an outlet is opened).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app import __version__
from app.core.errors import TrackerError
from app.core.streams import StreamSpec

# Channel type per name suffix for Gaze streams (XDF Gaze Meta-Data vocabulary).
_GAZE_TYPES = {"x": "ScreenX", "y": "ScreenY", "pupil": "Diameter", "confidence": "Confidence"}


def channel_metadata(spec: StreamSpec) -> list[dict[str, str]]:
    """``desc/channels/channel`` entries of a spec: label, unit, type (and eye for Gaze streams)."""
    out = []
    for i, label in enumerate(spec.channels):
        unit = spec.units[i] if i < len(spec.units) else ""
        entry = {"label": label, "unit": unit, "type": spec.type}
        if spec.type == "Gaze":
            eye, _, kind = label.rpartition("_")
            entry["type"] = _GAZE_TYPES.get(kind, kind)
            entry["eye"] = eye if eye in ("left", "right") else "both"
        out.append(entry)
    return out


def make_stream_info(spec: StreamSpec, source_id: str, rate: float = 0.0,
                     desc: Mapping[str, Any] | None = None) -> Any:
    """A ``pylsl.StreamInfo`` for ``spec`` with channel metadata and optional extra ``desc`` tree.

    ``desc`` maps child names to strings or to nested mappings, e.g.
    ``{"screen": {"width_px": "1920", ...}}``.
    """
    import pylsl

    if rate < 0:
        raise TrackerError(f"outlet {spec.name}: rate must be >= 0 (0 = irregular), got {rate}")
    info = pylsl.StreamInfo(spec.name, spec.type, len(spec.channels), rate, spec.channel_format, source_id)
    chans = info.desc().append_child("channels")
    for entry in channel_metadata(spec):
        ch = chans.append_child("channel")
        for key, value in entry.items():
            ch.append_child_value(key, value)
    acq = info.desc().append_child("acquisition")
    acq.append_child_value("manufacturer", "POV Lab")
    acq.append_child_value("software_version", __version__)
    if desc:
        _append_tree(info.desc(), desc)
    return info


def _append_tree(node: Any, tree: Mapping[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            _append_tree(node.append_child(key), value)
        else:
            node.append_child_value(key, str(value))


class Outlet:
    """A pylsl outlet bound to its :class:`StreamSpec`; use :func:`open_outlet` to make one."""

    def __init__(self, spec: StreamSpec, outlet: Any) -> None:
        self.spec = spec
        self._outlet = outlet
        self._string = spec.channel_format == "string"

    def _live(self) -> Any:
        if self._outlet is None:
            raise TrackerError(f"outlet {self.spec.name} is closed")
        return self._outlet

    @property
    def info(self) -> Any:
        """The ``pylsl.StreamInfo`` as published (with its uid and hostname filled in)."""
        return self._live().get_info()

    @property
    def source_id(self) -> str:
        return str(self.info.source_id())

    def have_consumers(self) -> bool:
        return bool(self._live().have_consumers())

    def push(self, values: str | Sequence[Any], timestamp: float | None = None) -> None:
        """Push one sample; a single string is accepted for one-channel string streams.

        ``timestamp`` is in LSL clock seconds (``pylsl.local_clock()``); ``None`` means now.
        """
        sample = [values] if isinstance(values, str) else list(values)
        if len(sample) != len(self.spec.channels):
            raise TrackerError(f"outlet {self.spec.name}: expected {len(self.spec.channels)} values "
                               f"({', '.join(self.spec.channels)}), got {len(sample)}")
        if self._string:
            sample = [str(v) for v in sample]
        self._live().push_sample(sample, 0.0 if timestamp is None else float(timestamp))

    def push_chunk(self, samples: Any, timestamps: float | Sequence[float] | np.ndarray | None = None) -> None:
        """Push many samples: ``samples`` is (n, channels); ``timestamps`` one per sample, or the
        time of the last sample (earlier ones derived from the nominal rate), or ``None`` (now)."""
        out = self._live()
        if timestamps is None:
            out.push_chunk(samples)
        elif isinstance(timestamps, (int, float)):
            out.push_chunk(samples, float(timestamps))
        else:
            out.push_chunk(samples, [float(t) for t in timestamps])

    def close(self) -> None:
        """Withdraw the stream from the network (inlets see it vanish)."""
        self._outlet = None

    def __enter__(self) -> Outlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lsl_clock() -> float:
    """The LSL clock now (``pylsl.local_clock()``), in which outlets stamp their samples."""
    import pylsl

    return float(pylsl.local_clock())


def open_outlet(spec: StreamSpec, source_id: str, rate: float = 0.0, desc: Mapping[str, Any] | None = None,
                chunk_size: int = 0, max_buffered_s: float = 360.0) -> Outlet:
    """Open an LSL outlet for ``spec`` (``rate`` 0 = irregular, as for markers and events)."""
    import pylsl

    info = make_stream_info(spec, source_id, rate, desc)
    try:
        outlet = pylsl.StreamOutlet(info, chunk_size, int(max(1, max_buffered_s)))
    except RuntimeError as exc:
        raise TrackerError(f"cannot open LSL outlet {spec.name} ({source_id}): {exc}") from exc
    return Outlet(spec, outlet)
