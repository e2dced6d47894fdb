"""Find gaze streams on LSL and describe them (rate, channel layout, host).

A gaze stream is one of type ``Gaze`` (the XDF Gaze Meta-Data convention) or of the types
that the manufacturers' LSL apps use (``Eyetracker`` for the Tobii Pro app); a stream can also
be chosen by name or by source_id whatever its type.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.acquisition.channels import ChannelMap, metadata_from_xml, resolve_channel_map
from app.acquisition.vendor_layouts import VendorStream, identify, pick_primary
from app.core.errors import TrackerError

GAZE_TYPES = ("Gaze", "Eyetracker", "EyeTracker", "eyetracker", "gaze")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamDescription:
    """What ``povlab streams`` lists about one stream; ``info`` is the ``pylsl.StreamInfo``."""

    name: str
    type: str
    source_id: str
    rate_hz: float
    n_channels: int
    channel_format: str
    hostname: str
    uid: str
    channels: tuple[dict[str, str], ...]  # desc/channels/channel entries (label, eye, type, unit)
    info: Any  # the full pylsl.StreamInfo (with desc), e.g. for the recorder
    resolved: Any = None  # the StreamInfo from resolution (with the address); inlets open from it
    desc: dict[str, str] = field(default_factory=dict)  # flat desc values (acquisition/manufacturer, ...)

    @property
    def vendor(self) -> VendorStream | None:
        """The vendor app that published this stream, recognised from its metadata."""
        return identify(self.name, self.type, self.channels, self.desc)

    def layout_line(self, screen_px: tuple[int, int] = (1920, 1080)) -> str:
        """One line: which layout was recognised and how it maps, or why it cannot be recorded as gaze."""
        try:
            cmap = self.channel_map(screen_px)
        except TrackerError as exc:
            return f"not recordable as screen gaze: {exc}"
        return f"layout: {cmap.describe()}"

    def channel_map(self, screen_px: tuple[int, int], mapping: str | None = None,
                    preset: str | None = None) -> ChannelMap:
        return resolve_channel_map(self.name, self.n_channels, self.channels, screen_px, mapping, preset,
                                   desc=self.desc, stream_type=self.type)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.get("label", "") for c in self.channels)

    def summary(self) -> str:
        labels = ",".join(lab or "?" for lab in self.labels) if self.channels else f"{self.n_channels} undescribed"
        rate = f"{self.rate_hz:g} Hz" if self.rate_hz > 0 else "irregular"
        return (f"{self.name}  type={self.type}  source_id={self.source_id or '-'}  {rate}  "
                f"channels={labels}  host={self.hostname}")


_FORMATS = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


def read_channels(info: Any) -> tuple[dict[str, str], ...]:
    """``desc/channels/channel`` children of a ``pylsl.StreamInfo`` as dicts of their text values."""
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        entry: dict[str, str] = {}
        field = ch.first_child()
        while not field.empty():
            entry[field.name()] = field.child_value()
            field = field.next_sibling()
        out.append(entry)
        ch = ch.next_sibling("channel")
    return tuple(out)


def read_desc_values(info: Any, child: str) -> dict[str, str]:
    """Text values of one ``desc/<child>`` node (e.g. the simulator's ``screen``)."""
    node = info.desc().child(child)
    out: dict[str, str] = {}
    field = node.first_child()
    while not field.empty():
        out[field.name()] = field.child_value()
        field = field.next_sibling()
    return out


def describe(info: Any, resolved: Any = None) -> StreamDescription:
    """A :class:`StreamDescription` of a full ``pylsl.StreamInfo`` (with desc).

    ``resolved`` is the info that resolution returned (it carries the outlet's address, which
    the full info fetched from an inlet lacks); inlets must be opened from it.
    """
    try:
        desc = metadata_from_xml(info.as_xml()).desc
    except TrackerError as exc:
        log.warning("stream %s: unreadable desc metadata (%s)", info.name(), exc)
        desc = {}
    return StreamDescription(
        name=info.name(), type=info.type(), source_id=info.source_id(), rate_hz=float(info.nominal_srate()),
        n_channels=int(info.channel_count()), channel_format=_FORMATS.get(info.channel_format(), "?"),
        hostname=info.hostname(), uid=info.uid(), channels=read_channels(info), info=info,
        resolved=resolved if resolved is not None else info, desc=desc)


def _predicate(name: str | None, source_id: str | None, stream_type: str | None) -> str:
    parts = []
    if name:
        parts.append(f"name='{_quote(name)}'")
    if source_id:
        parts.append(f"source_id='{_quote(source_id)}'")
    if stream_type:
        parts.append(f"type='{_quote(stream_type)}'")
    elif not parts:
        parts.append("(" + " or ".join(f"type='{t}'" for t in GAZE_TYPES) + ")")
    return " and ".join(parts)


def _quote(value: str) -> str:
    if "'" in value:
        raise TrackerError(f"stream names and ids with a quote are not supported: {value!r}")
    return value


def find_streams(name: str | None = None, source_id: str | None = None, stream_type: str | None = None,
                 timeout: float = 2.0, gaze_only: bool = True) -> list[StreamDescription]:
    """Streams visible within ``timeout`` seconds, with full metadata, sorted by name.

    Without any filter: every gaze stream. With ``gaze_only=False`` and no filter: every stream.
    """
    import pylsl

    if timeout <= 0:
        raise TrackerError(f"discovery timeout must be > 0 s, got {timeout}")
    if not (name or source_id or stream_type) and not gaze_only:
        found = pylsl.resolve_streams(wait_time=timeout)
    else:
        # A source_id names one stream: return as soon as it answers. A name or type may match several
        # streams (find_gaze_stream refuses ambiguity), so those wait the whole timeout.
        found = pylsl.resolve_bypred(_predicate(name, source_id, stream_type), 1 if source_id else 0, timeout)
    out = []
    seen = set()
    for short in found:
        if short.uid() in seen:
            continue
        seen.add(short.uid())
        try:
            out.append(describe(_full_info(short, timeout), short))
        except TrackerError as exc:
            if source_id:
                raise
            log.warning("skipped while listing: %s", exc)  # a stream going away must not hide the others
    return sorted(out, key=lambda d: (d.name, d.source_id))


def _full_info(short: Any, timeout: float) -> Any:
    """The full StreamInfo (with desc) of a resolved stream; resolution results carry no desc."""
    import pylsl
    from pylsl.util import TimeoutError as LslTimeoutError

    inlet = pylsl.StreamInlet(short, max_buflen=1)
    try:
        return inlet.info(timeout=max(timeout, 1.0))
    except LslTimeoutError as exc:
        raise TrackerError(f"stream {short.name()!r} on {short.hostname()} did not send its metadata "
                           f"within {max(timeout, 1.0):g} s") from exc
    finally:
        inlet.close_stream()


def find_gaze_stream(name: str | None = None, source_id: str | None = None, timeout: float = 5.0) -> StreamDescription:
    """The one gaze stream to record (by name and/or source_id, else the only one of a gaze type).

    When several answer, the vendor's primary gaze stream is taken if the others are that same app's
    secondary streams (Pupil Capture's ``pupil_capture`` over ``pupil_capture_pupillometry_only``);
    otherwise :class:`TrackerError` names them all (one line). Also raised when none appears.
    """
    import pylsl

    if timeout <= 0:
        raise TrackerError(f"tracker timeout must be > 0 s, got {timeout}")
    pred = _predicate(name, source_id, None)
    found = pylsl.resolve_bypred(pred, 1, timeout)
    if not found:
        what = " and ".join(f"{k} {v!r}" for k, v in (("name", name), ("source_id", source_id)) if v)
        raise TrackerError(f"no tracker stream {('with ' + what) if what else 'of type ' + '/'.join(GAZE_TYPES[:2])} "
                           f"found on LSL within {timeout:g} s (is the tracker's LSL app running? "
                           f"`povlab streams` lists what is visible)")
    if not source_id:
        # the first answer came; give the others a moment to answer too, so that none is missed
        found = list(found) + list(pylsl.resolve_bypred(pred, 0, min(1.0, timeout)))
    unique = list({s.uid(): s for s in found}.values())
    if len(unique) == 1:
        return describe(_full_info(unique[0], timeout), unique[0])
    described = []
    for short in unique:
        try:
            described.append(describe(_full_info(short, timeout), short))
        except TrackerError as exc:
            log.warning("skipped while choosing the tracker: %s", exc)
    return choose_stream(described)


def choose_stream(streams: list[StreamDescription]) -> StreamDescription:
    """The one stream to record among those that answered; refuses to guess (one line naming them)."""
    if not streams:
        raise TrackerError("the tracker streams went away while they were being listed; try again")
    if len(streams) == 1:
        return streams[0]
    ordered = sorted(streams, key=lambda d: (d.name, d.source_id))
    k = pick_primary([(d.hostname, d.vendor) for d in ordered])
    if k is not None:
        log.info("several streams of %s: recording its gaze stream %s", ordered[k].vendor, ordered[k].name)
        return ordered[k]
    names = "; ".join(f"{d.name} (source_id {d.source_id or '-'}, {d.hostname}"
                      + (f", {d.vendor.key}" if d.vendor else "") + ")" for d in ordered)
    raise TrackerError(f"{len(ordered)} gaze streams answer and none is clearly the tracker: {names}; choose one "
                       f"with --tracker lsl:NAME or lsl-id:SOURCE_ID")
