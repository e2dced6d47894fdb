"""Agreement of the detectors with expert-coded recordings (sample-level Cohen's kappa).

The reference data are the six EyeLink 1000 Plus recordings of Zemblys et al. 2018 ("Using
machine learning to detect events in eye-tracking data", Behav Res Methods 50:160-181;
github.com/r-zemblys/irf, ``etdata/lookAtPoint_EL``), every sample labelled by an expert:
0 undefined, 1 fixation, 2 saccade, 3 PSO, 5 blink. Kappa is one-vs-rest per class over all
samples (Hooge et al. 2018, "Is human classification by experienced untrained observers a gold
standard in fixation detection?", Behav Res Methods 50:1864, use the same measure).

``python -m app.detection.report`` prints the tables that docs/detection.md holds (with the
Hooge et al. 2018 set of :mod:`app.detection.hooge`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError
from app.core.gaze import GazeBlock
from app.core.gaze_events import LABEL_CODES, cohen_kappa
from app.core.geometry import ScreenGeometry


@dataclass(frozen=True)
class CodedRecording:
    name: str
    block: GazeBlock  # screen pixels, NaN during track loss
    expert: NDArray[np.uint8]
    geometry: ScreenGeometry


def irf_geometry(folder: Path) -> ScreenGeometry:
    try:
        geom = json.loads((folder / "db_config.json").read_text(encoding="utf-8"))["geom"]
        return ScreenGeometry(int(geom["display_width_pix"]), int(geom["display_height_pix"]),
                              geom["screen_width"] / 10, geom["screen_height"] / 10, geom["eye_distance"] / 10)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise GazeDataError(f"{folder / 'db_config.json'}: cannot read the screen geometry ({exc})") from exc


def load_irf(folder: Path) -> list[CodedRecording]:
    """The expert-coded recordings of an irf ``etdata`` folder, converted from degrees to pixels."""
    geometry = irf_geometry(folder)
    out = []
    for path in sorted(folder.glob("*.npy")):
        d = np.load(path)
        x, y = geometry.deg_to_px(d["x"].astype(np.float64), d["y"].astype(np.float64))
        lost = ~d["status"] | ~np.isfinite(x) | ~np.isfinite(y)
        x[lost] = np.nan
        y[lost] = np.nan
        out.append(CodedRecording(path.stem, GazeBlock.from_arrays(d["t"], x, y), d["evt"].astype(np.uint8),
                                  geometry))
    if not out:
        raise GazeDataError(f"{folder}: no .npy recordings found")
    return out


def kappas(ours: NDArray[np.uint8], expert: NDArray[np.uint8]) -> dict[str, float]:
    return {kind: cohen_kappa(ours == LABEL_CODES[kind], expert == LABEL_CODES[kind])
            for kind in ("fixation", "saccade", "pso", "blink")}


def evaluate(recordings: list[CodedRecording], method: str, **kwargs: object) -> dict[str, float]:
    """Kappa per class over all recordings pooled, and the mean over recordings."""
    from app.detection.pipeline import detect

    ours, ref, per = [], [], []
    for rec in recordings:
        res = detect(rec.block, rec.geometry, method=method, **kwargs)  # type: ignore[arg-type]
        ours.append(res.labels)
        ref.append(rec.expert)
        per.append(kappas(res.labels, rec.expert))
    pooled = kappas(np.concatenate(ours), np.concatenate(ref))
    out = {f"{k}_pooled": v for k, v in pooled.items()}
    out.update({f"{k}_mean": float(np.mean([p[k] for p in per])) for k in pooled})
    out.update({f"{k}_min": float(np.min([p[k] for p in per])) for k in pooled})
    return out


def degrade(rec: CodedRecording, step: int = 1, noise_deg: float = 0.0, keep: float = 1.0,
            noisy_from: float = 0.0, seed: int = 0) -> CodedRecording:
    """The recording thinned to every ``step``-th sample, with white noise (deg, per axis) added from
    the fraction ``noisy_from`` of the recording on and, if ``keep < 1``, only a random ``keep``
    share of the samples left (an uneven rate)."""
    rng = np.random.default_rng(seed)
    b = rec.block
    idx = np.arange(0, len(b), step)
    if keep < 1:
        idx = np.sort(rng.choice(idx, int(len(idx) * keep), replace=False))
    ppd = rec.geometry.px_per_deg
    scale = np.where(np.arange(len(idx)) >= int(noisy_from * len(idx)), noise_deg * ppd, 0.0)
    x = b.x[idx] + rng.normal(0, 1, len(idx)) * scale
    y = b.y[idx] + rng.normal(0, 1, len(idx)) * scale
    return CodedRecording(rec.name, GazeBlock.from_arrays(b.t[idx], x, y), rec.expert[idx], rec.geometry)


CONDITIONS: dict[str, dict[str, float]] = {  # name -> degrade() arguments
    "500 Hz": {"step": 2},
    "250 Hz": {"step": 4},
    "125 Hz": {"step": 8},
    "62.5 Hz": {"step": 16},
    "uneven, 300 Hz on average": {"keep": 0.3},
    "1000 Hz + 0.1 deg noise": {"noise_deg": 0.1},
    "250 Hz + 0.1 deg noise": {"step": 4, "noise_deg": 0.1},
    "250 Hz + 0.3 deg noise": {"step": 4, "noise_deg": 0.3},
    "62.5 Hz + 0.3 deg noise": {"step": 16, "noise_deg": 0.3},
    "250 Hz, 0.3 deg noise in the second half only": {"step": 4, "noise_deg": 0.3, "noisy_from": 0.5},
}


def main(argv: list[str]) -> int:
    from app.detection.report import main as report

    return report(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
