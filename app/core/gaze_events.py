"""Gaze events (fixations, saccades, post-saccadic oscillations, blinks, track loss).

Produced by the detectors in ``app.detection`` (offline and online alike) and consumed by
the AOI mapping (:mod:`app.core.aoi`), the session, the model's features and the BIDS
export. Sample labels use the codes of the expert-coded data of Zemblys et al. (2018),
"Using machine learning to detect events in eye-tracking data", Behav Res Methods 50:160-181:
0 undefined, 1 fixation, 2 saccade, 3 post-saccadic oscillation (PSO), 5 blink.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError

#: Event kinds. ``track_loss`` is a run of missing samples too long (or too short) to be a blink.
EVENT_KINDS: tuple[str, ...] = ("fixation", "saccade", "pso", "blink", "track_loss")

#: Sample label codes (irf convention). Track loss and discarded samples are ``undefined``.
LABEL_CODES: dict[str, int] = {"undefined": 0, "fixation": 1, "saccade": 2, "pso": 3, "blink": 5}
LABEL_NAMES: dict[int, str] = {v: k for k, v in LABEL_CODES.items()}
_KIND_TO_CODE: dict[str, int] = {"fixation": 1, "saccade": 2, "pso": 3, "blink": 5, "track_loss": 0}


@dataclass(frozen=True)
class GazeEvent:
    """One event over the samples ``start_index <= i < stop_index`` of the gaze stream.

    ``onset`` is the time of the first sample, ``offset`` the time of the last sample plus one
    nominal sample interval, so ``duration = offset - onset`` and back-to-back events tile time.
    Positions are screen pixels (top-left origin): ``x, y`` the mean over the event's valid
    samples, ``start_*``/``end_*`` its first and last valid samples. ``amplitude_deg`` is the
    visual angle between start and end (saccades, PSOs; NaN where meaningless).
    """

    kind: str
    onset: float
    offset: float
    duration: float
    x: float
    y: float
    amplitude_deg: float
    peak_velocity_deg_s: float
    start_index: int = 0
    stop_index: int = 0
    start_x: float = math.nan
    start_y: float = math.nan
    end_x: float = math.nan
    end_y: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise GazeDataError(f"gaze event: kind must be one of {EVENT_KINDS}, got {self.kind!r}")
        if not (math.isfinite(self.onset) and math.isfinite(self.offset)) or self.offset < self.onset:
            raise GazeDataError(f"gaze event: need finite onset <= offset, got {self.onset!r}, {self.offset!r}")
        if abs(self.duration - (self.offset - self.onset)) > 1e-9 * max(1.0, abs(self.offset)):
            raise GazeDataError(f"gaze event: duration {self.duration!r} is not offset - onset")
        if not (0 <= self.start_index <= self.stop_index):
            raise GazeDataError(
                f"gaze event: need 0 <= start_index <= stop_index, got {self.start_index}, {self.stop_index}")

    @property
    def n_samples(self) -> int:
        return self.stop_index - self.start_index

    @property
    def label_code(self) -> int:
        return _KIND_TO_CODE[self.kind]


@dataclass(frozen=True)
class DetectionResult:
    """Events of one detector run, the per-sample labels, and every parameter used."""

    method: str
    events: tuple[GazeEvent, ...]
    labels: NDArray[np.uint8]  # one code per input sample (LABEL_CODES)
    params: Mapping[str, float | int | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels.ndim != 1:
            raise GazeDataError("detection result: labels must be one-dimensional")
        seen = np.flatnonzero(np.bincount(np.asarray(self.labels, dtype=np.uint8), minlength=256))  # O(n), no sort
        bad = set(seen.tolist()) - set(LABEL_NAMES)
        if bad:
            raise GazeDataError(f"detection result: unknown label codes {sorted(bad)}")

    def of_kind(self, kind: str) -> tuple[GazeEvent, ...]:
        return tuple(e for e in self.events if e.kind == kind)

    @property
    def fixations(self) -> tuple[GazeEvent, ...]:
        return self.of_kind("fixation")


def labels_from_events(n_samples: int, events: Iterable[GazeEvent], first_index: int = 0) -> NDArray[np.uint8]:
    """Per-sample label codes for ``n_samples`` samples starting at stream index ``first_index``."""
    labels = np.zeros(n_samples, dtype=np.uint8)
    for e in events:
        a, b = max(e.start_index - first_index, 0), min(e.stop_index - first_index, n_samples)
        if b > a:
            labels[a:b] = e.label_code
    return labels


def cohen_kappa(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    """Cohen's kappa of two binary codings of the same samples (Cohen 1960, Educ Psychol Meas 20:37-46)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.size == 0:
        raise GazeDataError("kappa: two non-empty codings of the same length are needed")
    po = float(np.mean(a == b))
    pa, pb = float(a.mean()), float(b.mean())
    pe = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if pe == 1.0 else (po - pe) / (1 - pe)
