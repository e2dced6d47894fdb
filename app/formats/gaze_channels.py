"""Per-eye gaze in screen pixels from a recorded tracker stream, mapped as the live session mapped it.

The channel map comes from ``app.acquisition.channels.resolve_channel_map`` (the same rules the
acquisition used: an explicit mapping or preset stored in ``session.json``'s ``tracker``, else the
stream's XDF Gaze Meta-Data, else a manufacturer preset recognised from the labels), so a Tobii
stream's normalised positions, EyeLink's missing-data codes and Pupil Labs' confidence all come out
as pixels with NaN where the eye was lost, exactly as they were seen during the session.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.errors import BundleError, TrackerError
from app.core.geometry import ScreenGeometry
from app.core.run_metadata import TrackerRecord
from app.formats.xdf_format import XdfStream

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class EyeData:
    label: str  # BIDS recording entity: eye1, eye2
    recorded_eye: str  # left | right
    x: F64  # screen pixels, top-left origin, NaN = lost
    y: F64
    pupil: F64 | None
    x_channel: str
    y_channel: str
    pupil_channel: str | None
    pupil_unit: str
    mapping: str  # where the channel map came from: metadata, preset:<name>, explicit
    pupil_measure: str = ""  # diameter | area | "" (the stream does not say)


_AREA_UNITS = ("mm2", "mm^2", "mm²", "px2", "px^2", "pixels^2", "pixel^2", "square")
_LENGTH_UNITS = ("mm", "millimeter", "millimeters", "millimetre", "millimetres", "cm", "m")


def pupil_measure(channel: dict[str, str], label: str) -> str:
    """``diameter`` or ``area`` as a pupil channel's metadata (XDF Gaze Meta-Data type, label, unit) says, else ``""``.

    A length unit (mm) means a diameter; a squared unit an area; EyeLink's ``pa`` (pupil area) channels are areas.
    """
    text = " ".join((channel.get("type", ""), label, channel.get("label", ""))).lower()
    unit = channel.get("unit", "").strip().lower()
    if "area" in text or unit in _AREA_UNITS or label.lower() in ("pa", "pa_left", "pa_right", "left_pa", "right_pa"):
        return "area"
    if "diam" in text or unit in _LENGTH_UNITS:
        return "diameter"
    return ""


def channel_metadata(header_xml: str) -> list[dict[str, str]]:
    """``desc/channels/channel`` of a stream header as one dict per channel (label, unit, type, eye, ...)."""
    try:
        info = ET.fromstring(header_xml)
    except ET.ParseError:
        return []
    return [{c.tag: (c.text or "").strip() for c in ch} for ch in info.findall("./desc/channels/channel")]


def eyes_of(gaze: XdfStream, tracker: TrackerRecord | None, screen: ScreenGeometry) -> list[EyeData]:
    """Left then right eye (those the stream has), in pixels; BundleError when no mapping fits.

    ``tracker`` (from ``session.json``) gives the channel mapping or preset the session was started with."""
    from app.acquisition.channels import resolve_channel_map

    if isinstance(gaze.time_series, list):
        raise BundleError(f"gaze stream {gaze.name!r} holds strings, not gaze samples")
    tracker = tracker or TrackerRecord()
    chans = channel_metadata(gaze.header_xml)
    try:
        cmap = resolve_channel_map(gaze.name, gaze.channel_count, chans, (screen.width_px, screen.height_px),
                                   mapping=tracker.mapping, preset_name=tracker.preset)
        mapped = cmap.apply(gaze.time_series)
    except TrackerError as exc:
        raise BundleError(f"gaze stream {gaze.name!r}: {exc}") from exc
    data = np.asarray(gaze.time_series, dtype=np.float64)
    units = [c.get("unit", "") for c in chans] if len(chans) == gaze.channel_count else [""] * gaze.channel_count
    eyes = []
    for k, side in enumerate(cmap.eyes):
        ix, iy, ip = getattr(cmap, f"{side}_x"), getattr(cmap, f"{side}_y"), getattr(cmap, f"{side}_pupil")
        pupil = None
        if ip is not None:
            pupil = data[:, ip].copy()
            pupil[np.isin(pupil, cmap.missing_values) | ~(pupil > 0)] = np.nan
        eyes.append(EyeData(
            label=f"eye{k + 1}", recorded_eye=side, x=getattr(mapped, f"{side}_x"), y=getattr(mapped, f"{side}_y"),
            pupil=pupil, x_channel=gaze.channels[ix], y_channel=gaze.channels[iy],
            pupil_channel=None if ip is None else gaze.channels[ip],
            pupil_unit=(units[ip] if ip is not None and units[ip] else "arbitrary"), mapping=cmap.source,
            pupil_measure="" if ip is None else pupil_measure(chans[ip] if len(chans) == gaze.channel_count else {},
                                                              gaze.channels[ip])))
    return eyes
