"""The Hooge et al. 2018 recordings: 70 Tobii TX300 trials at 300 Hz, fixations coded by 12 experts.

Hooge, Niehorster, Nystrom, Andersson & Hessels (2018), "Is human classification by experienced
untrained observers a gold standard in fixation detection?", Behav Res Methods 50:1864-1881
(infant data: Hessels, Hooge & Kemner 2016, J Vis 16(8):10); github.com/dcnieho/humanFixationClassification,
CC BY-NC-SA 4.0. ``ETdata/<adult|infant>_<id>.txt`` holds ``time x y v`` (ms, screen pixels, NaN
where the eye was lost, and the velocity in px/s the coders saw); ``coderSettings/<coder>.txt`` one
row per fixation a coder marked (``Trial datum FixStart FixEnd FixDur``, ms on the same clock).
Coded times become samples as the authors do (``round(t / 1000 * 300)``, 0-based here), the fixation
covering both ends. Coders had no other category: what they did not mark is "not fixation".
Screen 1920 x 1080 px, 50.9 x 28.6 cm, about 65 cm away.

Agreement is sample-level Cohen's kappa of fixation vs not, pooled over the files a coder coded,
then averaged over the coders (with the spread over coders).
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import cohen_kappa
from app.core.geometry import ScreenGeometry

HOOGE_GEOMETRY = ScreenGeometry(1920, 1080, 50.9, 28.6, 65.0)
HOOGE_RATE_HZ = 300.0


@dataclass(frozen=True)
class MultiCoded:
    """One recording and each coder's fixation samples (coders that did not code it are absent)."""

    name: str
    block: GazeBlock
    coders: dict[str, NDArray[np.bool_]]
    geometry: ScreenGeometry = HOOGE_GEOMETRY

    @property
    def group(self) -> str:
        return self.name.split("_", 1)[0]


def _read_samples(path: Path) -> GazeBlock:
    try:
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n").split("\t")
        d = np.genfromtxt(path, delimiter="\t", skip_header=1, dtype=np.float64, ndmin=2)
        column = {name.strip(): d[:, k] for k, name in enumerate(header) if k < d.shape[1]}
        return GazeBlock.from_arrays(column["time"] / 1000.0, column["x"], column["y"])
    except (OSError, ValueError, KeyError) as exc:
        raise GazeDataError(f"{path}: cannot read Hooge et al. samples ({exc})") from exc


def _read_coder(path: Path) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                out.setdefault(row["Trial"], []).append((float(row["FixStart"]), float(row["FixEnd"])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GazeDataError(f"{path}: cannot read a coder's fixations ({exc})") from exc
    return out


def coded_mask(n: int, fixations: list[tuple[float, float]], rate_hz: float = HOOGE_RATE_HZ) -> NDArray[np.bool_]:
    """Samples inside a coder's fixations (start and end in ms, both ends included)."""
    m = np.zeros(n, dtype=bool)
    for start, end in fixations:
        a, b = int(round(start / 1000 * rate_hz)), int(round(end / 1000 * rate_hz))
        m[max(a, 0):min(b + 1, n)] = True
    return m


def load_hooge(folder: Path) -> list[MultiCoded]:
    """All recordings of ``folder`` (``ETdata/`` and ``coderSettings/``); trials without samples are ignored."""
    paths = sorted((folder / "ETdata").glob("*.txt"))
    coder_paths = sorted((folder / "coderSettings").glob("*.txt"))
    if not paths or not coder_paths:
        raise GazeDataError(f"{folder}: no ETdata/*.txt or coderSettings/*.txt found")
    coders = {p.stem: _read_coder(p) for p in coder_paths}
    out = []
    for path in paths:
        block = _read_samples(path)
        masks = {c: coded_mask(len(block), fix[path.stem]) for c, fix in coders.items() if path.stem in fix}
        out.append(MultiCoded(path.stem, block, masks))
    return out


def coder_kappas(recordings: list[MultiCoded], labels: dict[str, NDArray[np.bool_]]) -> dict[str, float]:
    """Per coder: kappa of ``labels`` (fixation samples per recording name) against that coder, pooled."""
    coders = sorted({c for r in recordings for c in r.coders})
    out = {}
    for c in coders:
        ours = [labels[r.name] for r in recordings if c in r.coders]
        theirs = [r.coders[c] for r in recordings if c in r.coders]
        out[c] = cohen_kappa(np.concatenate(ours), np.concatenate(theirs))
    return out


def pair_kappas(recordings: list[MultiCoded]) -> list[float]:
    """Kappa of every pair of coders, pooled over the recordings both coded."""
    coders = sorted({c for r in recordings for c in r.coders})
    out = []
    for a, b in itertools.combinations(coders, 2):
        both = [r for r in recordings if a in r.coders and b in r.coders]
        out.append(cohen_kappa(np.concatenate([r.coders[a] for r in both]),
                               np.concatenate([r.coders[b] for r in both])))
    return out


def summary(kappas: list[float]) -> dict[str, float]:
    k = np.asarray(kappas, dtype=np.float64)
    return {"mean": float(k.mean()), "min": float(k.min()), "max": float(k.max()), "sd": float(k.std())}


def evaluate_hooge(recordings: list[MultiCoded], method: str, **kwargs: object) -> dict[str, float]:
    """Fixation kappa of ``method`` against each coder: mean / min / max over coders, all files and per group."""
    from app.core.gaze_events import LABEL_CODES
    from app.detection.pipeline import detect

    labels = {r.name: detect(r.block, r.geometry, method=method, **kwargs).labels  # type: ignore[arg-type]
              == LABEL_CODES["fixation"] for r in recordings}
    out: dict[str, float] = {}
    groups = [("all", recordings)] + [(g, [r for r in recordings if r.group == g])
                                       for g in sorted({r.group for r in recordings})]
    for name, recs in groups:
        if recs:
            for key, value in summary(list(coder_kappas(recs, labels).values())).items():
                out[f"{name}_{key}"] = value
    return out


def holdout_halves(recordings: list[MultiCoded]) -> tuple[list[MultiCoded], list[MultiCoded]]:
    """Two halves with as many adults and infants each: alternate files of each group (sorted by name)."""
    a: list[MultiCoded] = []
    b: list[MultiCoded] = []
    for g in sorted({r.group for r in recordings}):
        recs = sorted((r for r in recordings if r.group == g), key=lambda r: r.name)
        a += recs[0::2]
        b += recs[1::2]
    return a, b


def degrade_hooge(rec: MultiCoded, step: int = 1, noise_deg: float = 0.0, seed: int = 0) -> MultiCoded:
    """Every ``step``-th sample (coders' labels follow), with white noise (deg, per axis) added."""
    rng = np.random.default_rng(seed)
    b = rec.block
    idx = np.arange(0, len(b), step)
    s = noise_deg * rec.geometry.px_per_deg
    block = GazeBlock.from_arrays(b.t[idx], b.x[idx] + rng.normal(0, 1, len(idx)) * s,
                                  b.y[idx] + rng.normal(0, 1, len(idx)) * s)
    return MultiCoded(rec.name, block, {c: m[idx] for c, m in rec.coders.items()}, rec.geometry)


HOOGE_CONDITIONS: dict[str, dict[str, float]] = {  # name -> degrade_hooge() arguments
    "150 Hz": {"step": 2},
    "60 Hz": {"step": 5},
    "300 Hz + 0.2 deg noise": {"noise_deg": 0.2},
    "60 Hz + 0.2 deg noise": {"step": 5, "noise_deg": 0.2},
}
