"""A simulated participant whose answer depends on what it looked at (for checking the study pipeline).

This is a test of the pipeline, not a model of human behaviour: it gives the recordings a signal that lives in
the gaze, so that retraining on a study can be shown to learn something an id-only prior cannot.

**Viewing** (:func:`plan_viewing`): the caption is read left to right (words of three letters or fewer skipped
with probability 0.3; 180 ms + 8 ms per letter, SD 30 ms, as in :func:`app.core.synthetic_gaze.plan_scanpath`),
then the image objects are visited in a random order weighted by their area; each object is fixated with the
participant's own probability ``look_prob`` (1-2 fixations of 180-350 ms), and now and then a word is
re-read. A fixation lands at a random point inside its AOI's bounding box, shrunk by a fifth on each side.

**The rule** (:func:`answer_from_viewing`): the participant answers **yes** when it has *seen* every object the
caption names, and **no** otherwise (also when the caption names no object of the image). An object counts as
seen when its dwell time reaches the participant's own ``seen_dwell_s``. An object is named when its label (or
the label without a plural ``s``) is a word of the caption. With probability ``lapse`` the answer is flipped.

**Individual differences** (:func:`draw_traits`): ``look_prob`` uniform in [0.45, 0.9] (how thoroughly the
image is inspected), ``seen_dwell_s`` in [0.15, 0.45] s (how long an object must be looked at to count; with
1-2 fixations of 180-350 ms a single short fixation often does not suffice for a strict participant),
``lapse`` in [0.02, 0.08], and the median reaction time in [1.6, 2.8] s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.errors import GazeDataError
from app.core.layout import TrialLayout, normalise_word


@dataclass(frozen=True)
class AttentionTraits:
    look_prob: float  # chance of fixating each image object
    seen_dwell_s: float  # dwell from which an object counts as seen
    lapse: float  # chance of giving the other answer
    rt_median_s: float = 2.2

    def __post_init__(self) -> None:
        ok = (0.0 <= self.look_prob <= 1.0 and 0.0 <= self.lapse <= 1.0 and math.isfinite(self.seen_dwell_s)
              and self.seen_dwell_s >= 0.0 and math.isfinite(self.rt_median_s) and self.rt_median_s > 0)
        if not ok:
            raise GazeDataError(f"attention traits: look_prob and lapse in [0, 1], seen_dwell_s >= 0 and "
                                f"rt_median_s > 0 expected, got {self}")


def draw_traits(rng: np.random.Generator) -> AttentionTraits:
    """One participant's traits (see the module docstring for the ranges)."""
    return AttentionTraits(look_prob=float(rng.uniform(0.45, 0.9)), seen_dwell_s=float(rng.uniform(0.15, 0.45)),
                           lapse=float(rng.uniform(0.02, 0.08)), rt_median_s=float(rng.uniform(1.6, 2.8)))


@dataclass(frozen=True)
class ViewingFixation:
    aoi: int  # index into layout.aois
    onset_s: float  # from the stimulus onset
    duration_s: float
    x: float  # screen px
    y: float


def _point(layout: TrialLayout, k: int, rng: np.random.Generator) -> tuple[float, float]:
    x0, y0, x1, y1 = layout.aois[k].bbox
    mx, my = (x1 - x0) / 5, (y1 - y0) / 5
    return float(rng.uniform(x0 + mx, x1 - mx)), float(rng.uniform(y0 + my, y1 - my))


def plan_viewing(layout: TrialLayout, traits: AttentionTraits, rng: np.random.Generator,
                 saccade_s: float = 0.04) -> list[ViewingFixation]:
    """The fixations of one trial, in time order (see the module docstring)."""
    plan: list[tuple[int, float]] = []
    words = [k for k, a in enumerate(layout.aois) if a.kind == "word"]
    objects = [k for k, a in enumerate(layout.aois) if a.kind == "object"]
    for i, k in enumerate(words):
        n = len(layout.aois[k].text)
        if n <= 3 and i > 0 and rng.random() < 0.3:
            continue
        plan.append((k, float(np.clip(0.18 + 0.008 * n + rng.normal(0, 0.03), 0.1, 0.4))))
    if objects:
        areas = np.array([max(1.0, (a.bbox[2] - a.bbox[0]) * (a.bbox[3] - a.bbox[1])) for a in
                          (layout.aois[k] for k in objects)])
        order = rng.choice(len(objects), size=len(objects), replace=False, p=areas / areas.sum())
        for j in order:
            if rng.random() < traits.look_prob:
                for _ in range(int(rng.integers(1, 3))):
                    plan.append((objects[j], float(rng.uniform(0.18, 0.35))))
            if words and rng.random() < 0.15:
                plan.append((words[int(rng.integers(0, len(words)))], float(rng.uniform(0.15, 0.25))))
    out: list[ViewingFixation] = []
    t = float(rng.uniform(0.15, 0.25))  # first saccade latency
    for k, dur in plan:
        x, y = _point(layout, k, rng)
        out.append(ViewingFixation(k, t, dur, x, y))
        t += dur + saccade_s
    return out


def named_objects(layout: TrialLayout, caption: str) -> set[int]:
    """Indices (into ``layout.aois``) of the objects whose label is a word of the caption."""
    words = {normalise_word(w) for w in caption.split()}
    words |= {w[:-1] for w in words if w.endswith("s")}
    return {k for k, a in enumerate(layout.aois) if a.kind == "object" and normalise_word(a.text) in words}


def answer_from_viewing(layout: TrialLayout, caption: str, fixations: list[ViewingFixation] | list[tuple[int, float]],
                        traits: AttentionTraits, rng: np.random.Generator) -> str:
    """``yes`` when every object the caption names got ``seen_dwell_s`` of dwell, else ``no``; flipped on a lapse.

    ``fixations``: :class:`ViewingFixation` s or ``(aoi_index, duration_s)`` pairs (aoi -1: on no AOI)."""
    dwell: dict[int, float] = {}
    for f in fixations:
        k, d = (f.aoi, f.duration_s) if isinstance(f, ViewingFixation) else f
        dwell[k] = dwell.get(k, 0.0) + d
    named = named_objects(layout, caption)
    seen_all = bool(named) and all(dwell.get(k, 0.0) >= traits.seen_dwell_s for k in named)
    answer = "yes" if seen_all else "no"
    if rng.random() < traits.lapse:
        answer = "no" if answer == "yes" else "yes"
    return answer
