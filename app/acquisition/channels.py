"""Which channels of a tracker's stream hold gaze, and how to turn them into screen pixels.

Sources of a :class:`ChannelMap`, in the order :func:`resolve_channel_map` tries them:

1. an explicit mapping string (``--channels left_x=0,left_y=1,right_x=2,right_y=3,unit=normalized``);
2. a named preset (``tobii``, ``pupil``, ``eyelink``);
3. a vendor layout recognised from the stream's metadata (``app.acquisition.vendor_layouts``: the
   LSL apps of Tobii, EyeLink and Pupil Labs, by name, channel labels and ``desc`` keys), which maps
   the stream or refuses it with one line when its coordinates are not the screen;
4. the stream's XDF Gaze Meta-Data (``desc/channels/channel`` with ``label``, ``eye``,
   ``type`` (or Pupil Labs' ``metatype``) ScreenX/ScreenY/Diameter/Confidence and ``unit``;
   https://github.com/sccn/xdf/wiki/Gaze-Meta-Data);
5. a preset recognised from the channel labels or the stream's name and channel count.

Everything here is pure (no pylsl): the live acquisition and the file readers pass the same plain
metadata (channel dicts and the flat ``desc`` of :func:`metadata_from_xml`) and get the same map.

Presets (layouts of the LSL apps of the manufacturers):

- ``tobii``: labstreaminglayer/App-TobiiPro, stream "Tobii": left_x, left_y, left_pupil, right_x,
  right_y, right_pupil; positions on the display area normalised 0..1 (origin top-left), NaN when invalid.
- ``pupil``: Pupil Capture LSL relay (labstreaminglayer/App-PupilLabs), stream "pupil_capture":
  confidence, norm_pos_x, norm_pos_y (0..1, origin bottom-left; a screen surface), diameter0_3d (right),
  diameter1_3d (left); samples with confidence < 0.6 are invalid (Pupil Labs' own default).
- ``eyelink``: labstreaminglayer/App-EyeLink, stream "EyeLink": leftEyeX, leftEyeY, rightEyeX, rightEyeY
  (screen pixels), leftPupilArea, rightPupilArea, ...; 0 and -32768 (MISSING_DATA) mean no data.

No pylsl here: the adapter reads the metadata into plain dicts first. :meth:`ChannelMap.apply` runs a
compiled loop (:mod:`app.acquisition.map_kernel`, numba, imported on first use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from app.core.errors import TrackerError

F64 = NDArray[np.float64]
SLOTS = ("left_x", "left_y", "right_x", "right_y", "left_pupil", "right_pupil", "confidence",
         "left_validity", "right_validity")
PIXEL_UNITS = {"", "pixels", "pixel", "px"}
NORMALISED_UNITS = {"normalized", "normalised", "norm", "screencoords", "fraction", "relative"}


@dataclass(frozen=True)
class MappedGaze:
    """Gaze of one chunk in screen pixels (NaN where invalid); ``x, y`` average the eyes present."""

    left_x: F64
    left_y: F64
    right_x: F64
    right_y: F64
    x: F64
    y: F64
    pupil: F64


@dataclass(frozen=True)
class ChannelMap:
    """Channel indices (0-based) of each quantity, the unit of the positions and the screen size."""

    n_channels: int
    left_x: int | None = None
    left_y: int | None = None
    right_x: int | None = None
    right_y: int | None = None
    left_pupil: int | None = None
    right_pupil: int | None = None
    confidence: int | None = None  # one confidence 0..1 for both eyes (Pupil Labs); valid when >= min_confidence
    left_validity: int | None = None  # per-eye validity codes (Tobii TET: 0 = certain .. 4 = lost);
    right_validity: int | None = None  # valid when <= max_validity
    unit: str = "pixels"  # "pixels" or "normalized" (0..1 of the screen)
    y_origin: str = "top"  # for normalised positions: "top" or "bottom" (Pupil Labs)
    screen_px: tuple[int, int] = (1920, 1080)
    min_confidence: float = 0.0
    max_validity: float = 1.0
    missing_values: tuple[float, ...] = ()  # values that mean "no data" (EyeLink: 0, -32768)
    source: str = "explicit"  # where the map came from: explicit, metadata, preset:<name>, vendor:<layout>
    pupil_unit: str = ""  # mm, pixels, area, arbitrary ("" = not stated)
    layout: str = ""  # one line naming the recognised layout (vendor app and its source)

    def __post_init__(self) -> None:
        used = [(s, getattr(self, s)) for s in SLOTS if getattr(self, s) is not None]
        for slot, idx in used:
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < self.n_channels:
                raise TrackerError(f"channel map: {slot}={idx!r} is not a channel index 0..{self.n_channels - 1}")
        left = self.left_x is not None and self.left_y is not None
        right = self.right_x is not None and self.right_y is not None
        if not (left or right):
            raise TrackerError("channel map: needs left_x and left_y, or right_x and right_y "
                               f"(got {', '.join(f'{s}={i}' for s, i in used) or 'nothing'})")
        if (self.left_x is None) != (self.left_y is None) or (self.right_x is None) != (self.right_y is None):
            raise TrackerError("channel map: each eye needs both its x and its y channel")
        if self.unit not in ("pixels", "normalized"):
            raise TrackerError(f"channel map: unit must be pixels or normalized, got {self.unit!r}")
        if self.y_origin not in ("top", "bottom"):
            raise TrackerError(f"channel map: y_origin must be top or bottom, got {self.y_origin!r}")
        if not (isinstance(self.screen_px, tuple) and len(self.screen_px) == 2 and all(v > 0 for v in self.screen_px)):
            raise TrackerError(f"channel map: screen size must be two positive numbers of pixels, got {self.screen_px!r}")

    def describe(self) -> str:
        """One line: the layout recognised and how positions become screen pixels."""
        w, h = self.screen_px
        eyes = "both eyes" if len(self.eyes) == 2 else f"{self.eyes[0]} eye"
        if self.unit == "normalized":
            where = f"normalised 0..1 of {w}x{h} px, origin {'bottom' if self.y_origin == 'bottom' else 'top'}-left"
        else:
            where = "screen pixels, origin top-left"
        valid = []
        if self.confidence is not None:
            valid.append(f"confidence >= {self.min_confidence:g}")
        if self.left_validity is not None or self.right_validity is not None:
            valid.append(f"validity code <= {self.max_validity:g}")
        if self.missing_values:
            valid.append("missing " + "/".join(f"{v:g}" for v in self.missing_values))
        head = self.layout or {"explicit": "explicit --channels mapping", "metadata": "XDF Gaze Meta-Data"}.get(
            self.source, self.source)
        return (f"{head}: {eyes}, {where}" + (f", pupil {self.pupil_unit}" if self.pupil_unit else "")
                + (f", valid when {' and '.join(valid)}" if valid else ""))

    def indices(self) -> dict[str, int]:
        return {s: getattr(self, s) for s in SLOTS if getattr(self, s) is not None}

    def to_record(self) -> dict[str, object]:
        """What session.json keeps: the resolved map, not only the flag text."""
        return {"source": self.source, "layout": self.layout, "summary": self.describe(), "n_channels": self.n_channels,
                "channels": self.indices(), "unit": self.unit, "y_origin": self.y_origin,
                "screen_px": list(self.screen_px), "min_confidence": self.min_confidence,
                "max_validity": self.max_validity, "missing_values": list(self.missing_values),
                "pupil_unit": self.pupil_unit}

    @property
    def eyes(self) -> tuple[str, ...]:
        return tuple(e for e in ("left", "right") if getattr(self, f"{e}_x") is not None)

    @cached_property
    def kernel_args(self) -> tuple[NDArray[np.int64], bool, bool, float, float, float, float, F64]:
        slots = np.array([-1 if getattr(self, s) is None else getattr(self, s) for s in SLOTS], dtype=np.int64)
        w, h = self.screen_px
        return (slots, self.unit == "normalized", self.y_origin == "bottom", float(w), float(h),
                float(self.min_confidence), float(self.max_validity), np.array(self.missing_values, dtype=np.float64))

    def as_chunk(self, data: NDArray[np.generic]) -> F64:
        """A chunk (n_samples, n_channels) as the C-ordered float64 array the compiled loops take; refuses another
        width with one line."""
        d = np.ascontiguousarray(data, dtype=np.float64)
        if d.ndim != 2 or d.shape[1] != self.n_channels:
            raise TrackerError(f"channel map: expected samples of {self.n_channels} channels, got shape {d.shape}")
        return d

    def apply(self, data: NDArray[np.generic]) -> MappedGaze:
        """Map a chunk (n_samples, n_channels) onto screen pixels (one compiled pass, :mod:`.map_kernel`)."""
        from app.acquisition.map_kernel import map_chunk

        out = map_chunk(self.as_chunk(data), *self.kernel_args)
        return MappedGaze(out[0], out[1], out[2], out[3], out[4], out[5], out[6])


def parse_mapping(text: str, n_channels: int, screen_px: tuple[int, int]) -> ChannelMap:
    """``left_x=0,left_y=1,right_x=2,right_y=3[,left_pupil=4][,unit=normalized][,y_origin=bottom]``.

    Also ``confidence=I,min_confidence=0.6`` and ``left_validity=I,right_validity=J,max_validity=1``."""
    fields: dict[str, object] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise TrackerError(f"--channels {text!r}: expected key=value items, got {part!r}")
        if key in SLOTS:
            try:
                fields[key] = int(value)
            except ValueError as exc:
                raise TrackerError(f"--channels {text!r}: {key} must be a channel index, got {value!r}") from exc
        elif key == "unit":
            fields["unit"] = _unit(value, f"--channels {text!r}")
        elif key == "y_origin":
            fields["y_origin"] = value
        elif key in ("min_confidence", "max_validity"):
            try:
                fields[key] = float(value)
            except ValueError as exc:
                raise TrackerError(f"--channels {text!r}: {key} must be a number, got {value!r}") from exc
        else:
            raise TrackerError(f"--channels {text!r}: unknown key {key!r} (expected one of "
                               f"{', '.join(SLOTS)}, unit, y_origin, min_confidence, max_validity)")
    try:
        return ChannelMap(n_channels=n_channels, screen_px=screen_px, source="explicit", **fields)  # type: ignore[arg-type]
    except TrackerError as exc:
        raise TrackerError(f"--channels {text!r}: {exc}") from exc


def _unit(value: str, where: str) -> str:
    v = value.strip().lower()
    if v in PIXEL_UNITS:
        return "pixels"
    if v in NORMALISED_UNITS:
        return "normalized"
    raise TrackerError(f"{where}: position unit {value!r} is not supported (pixels or normalized)")


def from_metadata(channels: Sequence[Mapping[str, str]], n_channels: int,
                  screen_px: tuple[int, int]) -> ChannelMap | None:
    """A map from Gaze Meta-Data entries (label, eye, type, unit), or None if positions are not described."""
    if len(channels) != n_channels:
        return None
    slots: dict[str, int] = {}
    units: set[str] = set()
    for i, ch in enumerate(channels):
        ctype = (ch.get("type") or ch.get("metatype") or "").strip().lower()
        eye = ch.get("eye", "").strip().lower()
        eyes = ("left", "right") if eye in ("", "both", "binocular", "average", "cyclopean") else (eye,)
        kind = {"screenx": "x", "screeny": "y", "diameter": "pupil", "pupilsize": "pupil",
                "pupil": "pupil", "confidence": "confidence"}.get(ctype)
        if kind is None:
            continue
        if kind == "confidence":
            slots.setdefault("confidence", i)
            continue
        if kind in ("x", "y"):
            units.add(_unit(ch.get("unit", ""), f"channel {i} ({ch.get('label', '')!r})"))
        for e in eyes:
            if e in ("left", "right"):
                slots.setdefault(f"{e}_{kind}", i)
    if not any(k.endswith("_x") for k in slots):
        return None
    if len(units) > 1:
        raise TrackerError("stream metadata mixes pixel and normalised position channels")
    return ChannelMap(n_channels=n_channels, screen_px=screen_px, unit=units.pop() if units else "pixels",
                      source="metadata", **slots)  # type: ignore[arg-type]


def preset(name: str, labels: Sequence[str], n_channels: int, screen_px: tuple[int, int]) -> ChannelMap:
    """A manufacturer preset; channel positions come from the labels when present."""
    layouts: dict[str, tuple[dict[str, str], dict[str, object]]] = {
        "tobii": ({"left_x": "left_x", "left_y": "left_y", "right_x": "right_x", "right_y": "right_y",
                   "left_pupil": "left_pupil", "right_pupil": "right_pupil"}, {"unit": "normalized", "pupil_unit": "mm"}),
        "pupil": ({"left_x": "norm_pos_x", "left_y": "norm_pos_y", "right_x": "norm_pos_x",
                   "right_y": "norm_pos_y", "left_pupil": "diameter1_3d", "right_pupil": "diameter0_3d",
                   "confidence": "confidence"},
                  {"unit": "normalized", "y_origin": "bottom", "min_confidence": 0.6, "pupil_unit": "mm"}),
        "eyelink": ({"left_x": "leftEyeX", "left_y": "leftEyeY", "right_x": "rightEyeX", "right_y": "rightEyeY",
                     "left_pupil": "leftPupilArea", "right_pupil": "rightPupilArea"},
                    {"missing_values": (0.0, -32768.0, 1e8), "pupil_unit": "area"}),
    }
    default_order = {"tobii": ["left_x", "left_y", "left_pupil", "right_x", "right_y", "right_pupil"],
                     "pupil": ["confidence", "norm_pos_x", "norm_pos_y"],
                     "eyelink": ["leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY", "leftPupilArea", "rightPupilArea"]}
    key = name.strip().lower()
    if key not in layouts:
        raise TrackerError(f"unknown channel preset {name!r} (known: {', '.join(layouts)})")
    slots_by_label, extra = layouts[key]
    order = list(labels) if labels and len(labels) == n_channels else default_order[key]
    slots = {}
    for slot, label in slots_by_label.items():
        if label in order and order.index(label) < n_channels:
            slots[slot] = order.index(label)
    try:
        return ChannelMap(n_channels=n_channels, screen_px=screen_px, source=f"preset:{key}",
                          layout=f"preset {key}", **slots, **extra)  # type: ignore[arg-type]
    except TrackerError as exc:
        raise TrackerError(f"preset {key}: the stream's channels ({', '.join(order)}) do not fit: {exc}") from exc


def detect_preset(name: str, labels: Sequence[str], n_channels: int) -> str | None:
    """The preset whose labels (or stream name and channel count) this stream has, if any."""
    have = set(labels)
    if {"leftEyeX", "leftEyeY"} <= have or {"rightEyeX", "rightEyeY"} <= have:
        return "eyelink"
    if {"norm_pos_x", "norm_pos_y"} <= have:
        return "pupil"
    if {"left_x", "left_y", "left_pupil", "right_x"} <= have and n_channels == 6:
        return "tobii"
    if not labels:
        lname = name.lower()
        if lname.startswith("tobii") and n_channels == 6:
            return "tobii"
        if lname.startswith("eyelink") and n_channels >= 6:
            return "eyelink"
    return None


def resolve_channel_map(stream_name: str, n_channels: int, channels: Sequence[Mapping[str, str]],
                        screen_px: tuple[int, int], mapping: str | None = None,
                        preset_name: str | None = None, desc: Mapping[str, str] | None = None,
                        stream_type: str = "") -> ChannelMap:
    """The channel map of a stream; raises :class:`TrackerError` naming the stream when none fits.

    ``channels`` are the ``desc/channels/channel`` entries and ``desc`` the flat ``desc`` values of
    the stream (see :func:`metadata_from_xml`); both are plain data, so a file reader passes what it
    read from a file header and gets the map the live session would have used.
    """
    from app.acquisition.vendor_layouts import recognise

    if not (isinstance(screen_px, tuple) and len(screen_px) == 2 and all(v > 0 for v in screen_px)):
        raise TrackerError(f"screen size must be two positive numbers of pixels, got {screen_px!r}")
    labels = [c.get("label", "") for c in channels] if len(channels) == n_channels else []
    if mapping:
        return parse_mapping(mapping, n_channels, screen_px)
    if preset_name:
        return preset(preset_name, labels, n_channels, screen_px)
    vendor = recognise(stream_name, stream_type, n_channels, channels, desc or {}, screen_px)
    if vendor is not None:
        return vendor
    meta = from_metadata(channels, n_channels, screen_px)
    if meta is not None:
        return meta
    found = detect_preset(stream_name, labels, n_channels)
    if found:
        return preset(found, labels, n_channels, screen_px)
    shown = ", ".join(lab or "?" for lab in labels) if labels else "no channel metadata"
    raise TrackerError(
        f"stream {stream_name!r} ({n_channels} channels: {shown}) has no ScreenX/ScreenY channels in its "
        f"metadata and matches no preset (tobii, pupil, eyelink); give the mapping, e.g. "
        f"--channels left_x=0,left_y=1,right_x=2,right_y=3")


@dataclass(frozen=True)
class StreamMetadata:
    """What a stream header says, as plain data (from LSL or from an XDF file's StreamHeader)."""

    name: str
    type: str
    n_channels: int
    rate_hz: float
    channels: tuple[dict[str, str], ...]  # desc/channels/channel entries
    desc: dict[str, str]  # flat desc values: "pupil_lsl_relay_version", "acquisition/manufacturer", ...


def metadata_from_xml(xml_text: str) -> StreamMetadata:
    """Parse a stream's ``<info>`` XML (``pylsl.StreamInfo.as_xml()`` or an XDF StreamHeader)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise TrackerError(f"stream metadata is not valid XML ({exc})") from exc

    def text(tag: str) -> str:
        node = root.find(tag)
        return (node.text or "").strip() if node is not None else ""

    chans = tuple({c.tag: (c.text or "").strip() for c in ch} for ch in root.findall("./desc/channels/channel"))
    flat: dict[str, str] = {}
    desc = root.find("desc")

    def walk(node: ET.Element, prefix: str, depth: int) -> None:
        for child in node:
            if child.tag == "channels" and not prefix:
                continue
            key = f"{prefix}{child.tag}"
            if len(child):
                if depth < 3:
                    walk(child, key + "/", depth + 1)
            else:
                flat.setdefault(key, (child.text or "").strip())

    if desc is not None:
        walk(desc, "", 0)
    try:
        n = int(text("channel_count") or len(chans))
        rate = float(text("nominal_srate") or 0.0)
    except ValueError as exc:
        raise TrackerError(f"stream metadata has a bad channel count or rate ({exc})") from exc
    return StreamMetadata(text("name"), text("type"), n, rate, chans, flat)
