"""A recorded session laid out for playback: gaze, fixations, predictions and trials on one LSL time axis.

Everything that happened in time comes from the run's XDF: the tracker's gaze, the
``PovLab-Fixations`` and ``PovLab-Predictions`` streams and the markers (trials, AOIs as
``!V IAREA``, the answers, the screen size as EyeLink's ``DISPLAY_COORDS`` and the image's place as
``!V IMGLOAD``). The session folder, where it is beside the XDF, adds the exact trial layouts and
stimulus images (its ``protocol.toml`` and ``stimuli/`` copies) and the tracker's channel mapping
(``session.json``); without them the review still plays, drawing the AOIs from the markers.
"""

from __future__ import annotations

import bisect
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.aoi import OFF, map_points
from app.core.errors import BundleError, PovLabError
from app.core.geometry import ScreenGeometry
from app.core.layout import Aoi, PlacedWord, TrialLayout, layout_trial
from app.core.markers import parse_marker
from app.core.protocol import Protocol, load_protocol
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.formats.gaze_channels import eyes_of
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.folder import read_meta
from app.runfolder.trial_records import TrialRecord, parse_iareas, parse_markers

F64 = NDArray[np.float64]
RAW_SPAN_S = 0.25  # raw gaze drawn behind the playhead
GAZE_STALE_S = 0.05  # no gaze point when the newest sample is older than this


@dataclass(frozen=True)
class ReviewTrial:
    record: TrialRecord
    layout: TrialLayout
    image: Path | None  # the stimulus image, where the session folder has it
    end: float  # when the trial's time ends (its TRIAL_RESULT, or the next trial's start)


@dataclass
class SessionReview:
    xdf: Path
    geometry: ScreenGeometry
    start: float
    end: float
    gaze_t: F64
    gaze_x: F64
    gaze_y: F64
    fixations: F64  # (n, 6): onset, duration, x, y, trial_number, aoi_index (1-based, -1 off)
    predictions: F64  # (n, 5) with its time stamps in prediction_t: trial_number, p_yes, p_no, p_unclear, n
    prediction_t: F64
    trials: list[ReviewTrial]
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def trial_at(self, t: float) -> int | None:
        """Index into :attr:`trials` of the trial whose time contains ``t``."""
        starts = [tr.record.start for tr in self.trials]
        k = bisect.bisect_right(starts, t) - 1
        return k if k >= 0 and t <= self.trials[k].end else None

    def screen_at(self, t: float) -> str:
        """What the participant saw: stimulus, fixation_cross or blank."""
        k = self.trial_at(t)
        if k is None:
            return "blank"
        r = self.trials[k].record
        if r.stim_onset <= t and not t >= r.stim_offset:
            return "stimulus"
        return "fixation_cross" if t < r.stim_onset or math.isnan(r.stim_onset) else "blank"

    def gaze_at(self, t: float) -> tuple[float, float] | None:
        i = int(np.searchsorted(self.gaze_t, t, side="right")) - 1
        while i >= 0 and t - self.gaze_t[i] <= GAZE_STALE_S:
            if math.isfinite(self.gaze_x[i]) and math.isfinite(self.gaze_y[i]):
                return float(self.gaze_x[i]), float(self.gaze_y[i])
            i -= 1
        return None

    def raw_gaze(self, t: float, span: float = RAW_SPAN_S) -> F64:
        """(n, 2) valid samples in (t - span, t]."""
        a, b = np.searchsorted(self.gaze_t, [t - span, t], side="right")
        xy = np.stack([self.gaze_x[a:b], self.gaze_y[a:b]], axis=1)
        return xy[np.isfinite(xy).all(axis=1)]

    def scanpath(self, t: float) -> list[tuple[float, float, float, int]]:
        """The fixations of the trial at ``t`` that ended by ``t``: (x, y, duration, aoi index 0-based or -1)."""
        k = self.trial_at(t)
        if k is None or not len(self.fixations):
            return []
        f = self.fixations
        number = self.trials[k].record.number
        keep = (f[:, 4] == number) & (f[:, 0] + f[:, 1] <= t)
        return [(x, y, d, int(a) - 1 if a > 0 else OFF) for _, d, x, y, _, a in f[keep].tolist()]

    def aoi_at(self, t: float) -> int:
        """Index into the current layout's AOIs under the gaze at ``t`` (-1: none, or no stimulus)."""
        k, gaze = self.trial_at(t), self.gaze_at(t)
        if k is None or gaze is None or self.screen_at(t) != "stimulus":
            return OFF
        aois = self.trials[k].layout.aois
        return int(map_points(np.array([gaze[0]]), np.array([gaze[1]]), aois, self.geometry)[0])

    def prediction_at(self, t: float) -> tuple[float, float, float] | None:
        """The newest live prediction of the trial at ``t`` made by ``t``."""
        k = self.trial_at(t)
        if k is None or not len(self.prediction_t):
            return None
        i = int(np.searchsorted(self.prediction_t, t, side="right"))
        rows = self.predictions[:i]
        rows = rows[rows[:, 0] == self.trials[k].record.number]
        return None if not len(rows) else (float(rows[-1, 1]), float(rows[-1, 2]), float(rows[-1, 3]))


def _layout_from_markers(trial_id: str, caption: str, areas: list[Aoi],
                         image_rect: tuple[float, float, float, float] | None, screen: tuple[int, int]) -> TrialLayout:
    """A trial's layout from its ``!V IAREA`` AOIs: words (``txt_``) take the caption's words, the rest are objects."""
    words = caption.split()
    aois, placed, counts = [], [], {"word": 0, "object": 0}
    for area in areas:
        kind = "word" if area.kind == "word" else "object"
        text = words[counts["word"]] if kind == "word" and counts["word"] < len(words) else area.text
        aoi = Aoi(area.name, kind, text, area.polygon, counts[kind])
        counts[kind] += 1
        aois.append(aoi)
        if kind == "word":
            x0, y0, x1, y1 = aoi.bbox
            placed.append(PlacedWord(text, x0, y1, (x0, y0, x1, y1)))
    if image_rect is None:
        objects = [a.bbox for a in aois if a.kind == "object"]
        image_rect = ((min(b[0] for b in objects), min(b[1] for b in objects), max(b[2] for b in objects),
                       max(b[3] for b in objects)) if objects else (0.0, 0.0, 0.0, 0.0))
    aois.sort(key=lambda a: a.kind != "word")
    return TrialLayout(trial_id, screen, tuple(placed), image_rect, 1.0, tuple(aois))


def _marker_extras(stamps: F64, texts: list[str]) -> tuple[tuple[int, int] | None, dict[int, tuple]]:
    """DISPLAY_COORDS, and per trial number its IMGLOAD rectangle (its AOIs come from ``parse_iareas``)."""
    display: tuple[int, int] | None = None
    images: dict[int, tuple[float, float, float, float]] = {}
    current = None
    for _, text in sorted(zip(stamps.tolist(), texts, strict=True), key=lambda p: p[0]):
        m = parse_marker(text)
        try:
            if m.kind == "DISPLAY_COORDS" and len(m.args) == 4:
                x0, y0, x1, y1 = (float(v) for v in m.args)
                display = (int(x1 - x0 + 1), int(y1 - y0 + 1))
            elif m.kind == "TRIALID" and m.args:
                current = int(m.args[0])
            elif current is not None and m.kind == "IMGLOAD" and len(m.args) >= 6 and m.args[0] == "TOP_LEFT":
                x, y, w, h = (float(v) for v in m.args[2:6])
                images[current] = (x, y, x + w, y + h)
        except (ValueError, IndexError):
            continue  # a malformed marker is skipped; the rest of the review stands
    return display, images


def _folder_protocol(folder: Path, notes: list[str]) -> Protocol | None:
    path = folder / "protocol.toml"
    if not path.is_file():
        notes.append("no protocol.toml beside the XDF: AOIs drawn from the markers, no stimulus images")
        return None
    try:
        return load_protocol(path)
    except PovLabError as exc:
        notes.append(f"protocol.toml not used ({exc}); AOIs drawn from the markers")
        return None


def load_review(path: Path | str) -> SessionReview:
    """Read a run (its XDF, or a session folder with one run) for playback; BundleError when it cannot be."""
    path = Path(path)
    if path.is_dir():
        xdfs = sorted(path.glob("*.xdf"))
        if not xdfs:
            raise BundleError(f"{path}: no .xdf recording in this folder")
        path = xdfs[-1]
    if not path.is_file():
        raise BundleError(f"{path}: recording not found")
    contents = read_session_xdf(path)
    markers = contents.get(MARKERS.name) or contents.by_type(MARKERS.type)
    gaze = next((s for s in contents.streams.values() if s.type.lower() in ("gaze", "eyetracker", "et")
                 and not isinstance(s.time_series, list) and len(s)), None)
    if markers is None or not len(markers):
        raise BundleError(f"{path}: no markers stream: not a POV Lab recording (nothing to review)")
    notes = [f"{path.name}: {loss}" for loss in contents.losses]
    texts = markers.strings()
    display, image_rects = _marker_extras(markers.time_stamps, texts)
    areas = parse_iareas(texts, markers.time_stamps)
    meta_path = path.with_name(path.name[: -len(".xdf")] + "_session.json")
    meta = read_meta(meta_path) if meta_path.is_file() else None
    protocol = _folder_protocol(path.parent, notes)
    if protocol is not None:
        geometry = protocol.screen
    elif meta is not None and meta.screen is not None:
        geometry = meta.screen
    else:
        geometry = ScreenGeometry(*(display or (1920, 1080)))
        if display is None:
            notes.append("screen size not recorded: 1920 x 1080 px assumed")
    end_of_data = float(max(s.time_stamps[-1] for s in contents.streams.values() if len(s)))
    log = parse_markers(markers.time_stamps, texts, end_of_data)
    by_id = {t.trial_id: t for t in protocol.all_trials} if protocol is not None else {}
    trials = []
    for k, record in enumerate(log.trials):
        following = log.trials[k + 1].start if k + 1 < len(log.trials) else end_of_data
        end = record.end if math.isfinite(record.end) else following
        spec = by_id.get(record.trial_id)
        if spec is not None and protocol is not None:
            layout, image = layout_trial(protocol, spec), (spec.image if spec.image.is_file() else None)
        else:
            layout = _layout_from_markers(record.trial_id, record.caption, areas.get(record.number, []),
                                          image_rects.get(record.number), (geometry.width_px, geometry.height_px))
            copy = path.parent / "stimuli" / Path(record.image).name if record.image else None
            image = copy if copy is not None and copy.is_file() else None
        trials.append(ReviewTrial(record, layout, image, end))
    if gaze is not None:
        eyes = eyes_of(gaze, meta.tracker if meta is not None else None, geometry)
        with warnings.catch_warnings():  # both eyes lost: NaN, as intended
            warnings.simplefilter("ignore", RuntimeWarning)
            gx = np.nanmean(np.stack([e.x for e in eyes]), axis=0) if len(eyes) > 1 else eyes[0].x
            gy = np.nanmean(np.stack([e.y for e in eyes]), axis=0) if len(eyes) > 1 else eyes[0].y
        gt = np.asarray(gaze.time_stamps, dtype=np.float64)
    else:
        notes.append("no gaze stream in the recording")
        gt = gx = gy = np.empty(0)
    fix = contents.get(FIXATIONS.name)
    pred = contents.get(PREDICTIONS.name)
    starts = [float(s.time_stamps[0]) for s in contents.streams.values() if len(s)]
    return SessionReview(
        xdf=path, geometry=geometry, start=min(starts), end=end_of_data, gaze_t=gt, gaze_x=gx, gaze_y=gy,
        fixations=np.asarray(fix.time_series, dtype=np.float64).reshape(-1, 6) if fix is not None and len(fix)
        else np.empty((0, 6)),
        predictions=np.asarray(pred.time_series, dtype=np.float64).reshape(-1, 5) if pred is not None and len(pred)
        else np.empty((0, 5)),
        prediction_t=np.asarray(pred.time_stamps, dtype=np.float64) if pred is not None else np.empty(0),
        trials=trials, notes=notes)
