"""The gaze streams of the manufacturers' LSL apps, recognised from their metadata alone (no flags).

Each app below is recognised by what its source code writes into the StreamInfo (the test fixtures in
``tests/fixtures/vendor_streams.py`` re-create them from that source, with the commit):

- ``tobii-pro``: labstreaminglayer/App-TobiiPro ``mainwindow.cpp``: name ``Tobii``, type ``Eyetracker``,
  ``desc/acquisition/manufacturer`` = ``TobiiPro``; left_x, left_y, left_pupil, right_x, right_y,
  right_pupil; positions on the display area normalised 0..1 (unit ``screencoords``, origin top-left),
  NaN when invalid; pupil diameter in mm.
- ``tobii-tet``: the older labstreaminglayer/App-Tobii (TET API; ``Apps/Tobii/mainwindow.cpp`` in
  sccn/lsl_archived): name ``Tobii``, type ``Gaze``, rate 0, 14 float channels, manufacturer ``Tobii``;
  ``Screen_X_left`` .. ``Confidence_right``. The positions are TET gaze positions (0..1, origin top-left,
  no unit written) and the channels typed ``Confidence`` carry TET *validity codes* (0 = certainly
  found .. 4 = certainly not; ``tet.h``), not a confidence: an eye is valid when its code is <= 1.
- ``eyelink``: labstreaminglayer/App-EyeLink ``eyelink.py``: name ``EyeLink``, type ``Gaze``, 10 doubles
  leftEyeX .. LSL_timestamp in screen pixels; 0 (the eye not recorded: monocular) and -32768
  (MISSING_DATA) mean no data; pupil area in arbitrary units.
- ``pupil-capture``: labstreaminglayer/App-PupilLabs (Pupil Capture LSL relay 2.x,
  ``pupil_capture_lsl_relay/``): ``desc/pupil_lsl_relay_version``; outlets ``pupil_capture`` (gaze,
  ``norm_pos`` in the *world camera* image, ``coordinate_system`` = ``world``),
  ``pupil_capture_pupillometry_only`` (pupil positions in the *eye* cameras) and
  ``pupil_capture_fixations`` (type ``Fixations``). ``norm_pos`` has its origin bottom-left; diameter0/1
  are the right/left eye (``_2d`` in eye-camera pixels, ``_3d`` in mm); confidence < 0.6 is invalid
  (Pupil Labs' default). World-camera coordinates are not the screen: the stream is refused unless its
  ``norm_pos`` channels name a surface (a relay publishing gaze mapped onto a screen surface by
  Pupil's Surface Tracker) or the operator maps it explicitly (``--preset pupil`` / ``--channels``).
- ``pupil-companion``: pupil-labs/lsl-relay (Neon / Invisible through the Companion app):
  ``desc/acquisition/*_lsl_relay_version``, manufacturer ``Pupil Labs``; channels x, y described with the
  key ``metatype`` (not ``type``), unit pixels, ``coordinate_system`` = ``world``: scene-camera pixels,
  refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.acquisition.channels import ChannelMap
from app.core.errors import TrackerError

PUPIL_MIN_CONFIDENCE = 0.6
TET_MAX_VALIDITY = 1.0
_EXPLICIT_PUPIL = ("--preset pupil (normalised, origin bottom-left, confidence >= 0.6) or "
                   "--channels left_x=1,left_y=2,unit=normalized,y_origin=bottom,confidence=0,min_confidence=0.6")


@dataclass(frozen=True)
class VendorStream:
    """One recognised stream of a vendor app."""

    key: str  # tobii-pro | tobii-tet | eyelink | pupil-capture | pupil-capture-surface | pupil-pupillometry | ...
    app: str  # the app and where its source is
    primary: bool  # the app's main gaze stream: chosen over the app's other streams when several answer
    refusal: str | None = None  # why the stream's coordinates are not the screen, and what to do instead
    family: str = ""  # streams of one app share it (pupil-capture for its gaze, pupillometry and fixations)

    def __post_init__(self) -> None:
        if not self.key or not self.app:
            raise TrackerError("a vendor stream needs a key and an app")
        if not self.family:
            object.__setattr__(self, "family", self.key)

    @property
    def line(self) -> str:
        return f"{self.app} [{self.key}]"


def _labels(channels: Sequence[Mapping[str, str]]) -> list[str]:
    return [c.get("label", "") for c in channels]


def identify(name: str, stream_type: str, channels: Sequence[Mapping[str, str]],
             desc: Mapping[str, str]) -> VendorStream | None:
    """Which vendor app published this stream (and which of its streams it is), or None."""
    labels = _labels(channels)
    manufacturer = desc.get("acquisition/manufacturer", "").strip().lower()
    relay_keys = [k for k in desc if k.startswith("acquisition/") and k.endswith("lsl_relay_version")]
    if "pupil_lsl_relay_version" in desc or (name.startswith("pupil_capture") and "norm_pos_x" in labels):
        return _pupil_capture(name, stream_type, channels, desc)
    if relay_keys or (manufacturer == "pupil labs" and any("metatype" in c for c in channels)):
        version = desc.get(relay_keys[0], "?") if relay_keys else "?"
        app = f"Pupil Labs Companion LSL relay {version} (pupil-labs/lsl-relay; Neon / Invisible)"
        if stream_type.lower() != "gaze":
            return VendorStream("pupil-companion-events", app, False,
                                f"is the relay's {stream_type or 'untyped'} stream, not gaze samples",
                                family="pupil-companion")
        return VendorStream("pupil-companion", app, True, (
            "gives gaze in scene-camera pixels (coordinate_system=world), not on the screen; record a stream "
            "mapped onto the screen (e.g. Pupil Labs' marker/surface mapper) or give an explicit mapping with "
            "--channels left_x=0,left_y=1 if the scene camera really is the screen"), family="pupil-companion")
    if manufacturer == "tobiipro" or (name == "Tobii" and labels[:2] == ["left_x", "left_y"] and len(labels) == 6):
        return VendorStream("tobii-pro", "Tobii Pro LSL app (labstreaminglayer/App-TobiiPro)", True)
    if "Screen_X_left" in labels or "Screen_X_right" in labels or (manufacturer == "tobii" and len(labels) == 14):
        return VendorStream("tobii-tet", "old Tobii LSL app, TET API (labstreaminglayer/App-Tobii)", True)
    if {"leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY"} <= set(labels):
        return VendorStream("eyelink", "EyeLink LSL app (labstreaminglayer/App-EyeLink eyelink.py)", True)
    return None


def _pupil_capture(name: str, stream_type: str, channels: Sequence[Mapping[str, str]],
                   desc: Mapping[str, str]) -> VendorStream:
    app = f"Pupil Capture LSL relay {desc.get('pupil_lsl_relay_version', '?')} (labstreaminglayer/App-PupilLabs)"
    if stream_type.lower() == "fixations" or name.endswith("_fixations"):
        return VendorStream("pupil-fixations", app, False,
                            "is Pupil Capture's fixation stream (one sample per detected fixation), not gaze "
                            "samples; record the gaze stream 'pupil_capture'", family="pupil-capture")
    system = next((c.get("coordinate_system", "") for c in channels if c.get("label") == "norm_pos_x"), "")
    system = system.strip().lower()
    if system.startswith("eye"):
        return VendorStream("pupil-pupillometry", app, False,
                            "holds pupil positions in the eye cameras' images (coordinate_system=eye), not gaze "
                            "on the screen; record the gaze stream 'pupil_capture' (mapped onto a screen surface)",
                            family="pupil-capture")
    if system in ("", "world"):
        return VendorStream("pupil-capture", app, True, (
            "gives gaze in the world (scene) camera's normalised image coordinates (coordinate_system=world), not "
            "on the screen; publish gaze mapped onto a screen surface (Pupil Capture's Surface Tracker, "
            f"coordinate_system=<surface>), or, if the world camera image is the screen, map it explicitly: "
            f"{_EXPLICIT_PUPIL}"), family="pupil-capture")
    return VendorStream("pupil-capture-surface", app + f", gaze on surface {system!r}", True,
                        family="pupil-capture")


def recognise(name: str, stream_type: str, n_channels: int, channels: Sequence[Mapping[str, str]],
              desc: Mapping[str, str], screen_px: tuple[int, int]) -> ChannelMap | None:
    """The channel map of a recognised vendor stream; TrackerError (one line) when it is not screen gaze."""
    vendor = identify(name, stream_type, channels, desc)
    if vendor is None:
        return None
    if vendor.refusal:
        raise TrackerError(f"stream {name!r} ({vendor.app}) {vendor.refusal}")
    labels = _labels(channels)
    if len(labels) != n_channels:
        raise TrackerError(f"stream {name!r} ({vendor.app}) describes {len(labels)} channels but has {n_channels}")

    # keyword arguments of ChannelMap, typed Any: they are checked where ChannelMap validates them
    def at(*wanted: str) -> dict[str, Any]:
        return {slot: labels.index(label) for slot, label in zip(SLOT_ORDER, wanted, strict=True) if label in labels}

    common: dict[str, Any] = {"n_channels": n_channels, "screen_px": screen_px, "source": f"vendor:{vendor.key}",
              "layout": vendor.line}
    try:
        if vendor.key == "tobii-pro":
            return ChannelMap(**common, **at("left_x", "left_y", "right_x", "right_y", "left_pupil", "right_pupil"),
                              unit="normalized", pupil_unit="mm")
        if vendor.key == "tobii-tet":
            return ChannelMap(**common, **at("Screen_X_left", "Screen_Y_left", "Screen_X_right", "Screen_Y_right",
                                             "Diameter_left", "Diameter_right"),
                              **_validity(labels, "Confidence_left", "Confidence_right"),
                              unit="normalized", max_validity=TET_MAX_VALIDITY, pupil_unit="arbitrary")
        if vendor.key == "eyelink":
            return ChannelMap(**common, **at("leftEyeX", "leftEyeY", "rightEyeX", "rightEyeY", "leftPupilArea",
                                             "rightPupilArea"),
                              missing_values=(0.0, -32768.0, 1e8), pupil_unit="area")
        if vendor.key == "pupil-capture-surface":
            left_pupil = "diameter1_3d" if "diameter1_3d" in labels else "diameter1_2d"
            right_pupil = "diameter0_3d" if "diameter0_3d" in labels else "diameter0_2d"
            return ChannelMap(**common, **at("norm_pos_x", "norm_pos_y", "norm_pos_x", "norm_pos_y", left_pupil,
                                             right_pupil),
                              confidence=labels.index("confidence") if "confidence" in labels else None,
                              min_confidence=PUPIL_MIN_CONFIDENCE, unit="normalized", y_origin="bottom",
                              pupil_unit="mm" if left_pupil.endswith("_3d") else "pixels")
    except TrackerError as exc:
        raise TrackerError(f"stream {name!r} ({vendor.app}): its channels do not fit the layout: {exc}") from exc
    raise TrackerError(f"stream {name!r}: no channel layout for {vendor.key}")  # pragma: no cover - keys above


SLOT_ORDER = ("left_x", "left_y", "right_x", "right_y", "left_pupil", "right_pupil")


def _validity(labels: list[str], left: str, right: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if left in labels:
        out["left_validity"] = labels.index(left)
    if right in labels:
        out["right_validity"] = labels.index(right)
    return out


def pick_primary(streams: Sequence[tuple[str, VendorStream | None]]) -> int | None:
    """Index of the one stream to record among several that answered, or None (refuse to guess).

    Only a vendor's primary gaze stream wins, and only over that same app's other streams on the same
    host (e.g. Pupil Capture's ``pupil_capture`` over ``pupil_capture_pupillometry_only``); ``streams``
    pairs each stream's host with what :func:`identify` said about it.
    """
    primaries = [i for i, (_, v) in enumerate(streams) if v is not None and v.primary]
    if len(primaries) != 1:
        return None
    host, chosen = streams[primaries[0]]
    assert chosen is not None
    same_app = all(v is not None and v.family == chosen.family and h == host for h, v in streams)
    return primaries[0] if same_app else None
