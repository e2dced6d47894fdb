"""Per-trial figures written next to the recording: the scanpath over the stimulus and a dwell heatmap.

- Scanpath: fixations as circles whose area grows with duration, numbered in order and joined
  by saccade lines, over the stimulus as the participant saw it (caption words and image placed
  by the trial layout) - the classic plot of Noton & Stark (1971, "Scanpaths in eye movements
  during pattern perception", Science 171:308).
- Dwell heatmap: a duration-weighted sum of Gaussians, one per fixation, sigma one degree of
  visual angle (the fixation map of Le Meur & Baccino 2013, "Methods for comparing scanpaths and
  saliency maps: strengths and weaknesses", Behav Res Methods 45:251), normalised to its peak.

matplotlib (Agg) is imported inside the writer only; :func:`dwell_map` is plain numpy.
Files are never overwritten: a name that exists raises :class:`RecordingError`.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from app.core.errors import GazeDataError, RecordingError
from app.core.geometry import ScreenGeometry
from app.core.layout import TrialLayout

if TYPE_CHECKING:  # matplotlib is imported by the writer only
    from matplotlib.axes import Axes
    from matplotlib.patches import Rectangle


@dataclass(frozen=True)
class TrialGaze:
    number: int
    trial_id: str
    layout: TrialLayout
    image: Path
    fixations: tuple[tuple[float, float, float], ...]  # x px, y px, duration s

    def __post_init__(self) -> None:
        for i, f in enumerate(self.fixations):
            if len(f) != 3 or not all(math.isfinite(v) for v in f) or f[2] < 0:
                raise GazeDataError(f"trial {self.trial_id}: fixation {i}: expected finite (x, y, duration >= 0), "
                                    f"got {f!r}")


@dataclass(frozen=True)
class TrialPlots:
    """The two figures of one trial, as written into the run folder's ``plots/``."""

    number: int
    trial_id: str
    scanpath: Path
    heatmap: Path

    @property
    def label(self) -> str:
        return f"{self.number} {self.trial_id}"


def dwell_map(fixations: Sequence[tuple[float, float, float]], screen_px: tuple[int, int], sigma_px: float,
              cell_px: int = 8) -> NDArray[np.float64]:
    """Duration-weighted Gaussian fixation map on a grid of ``cell_px`` cells, peak 1 (zeros if empty)."""
    if not (sigma_px > 0 and cell_px > 0):
        raise GazeDataError(f"dwell map: sigma_px and cell_px must be positive, got {sigma_px}, {cell_px}")
    w, h = screen_px
    xs = (np.arange(math.ceil(w / cell_px)) + 0.5) * cell_px
    ys = (np.arange(math.ceil(h / cell_px)) + 0.5) * cell_px
    out = np.zeros((len(ys), len(xs)))
    for x, y, dur in fixations:
        gx = np.exp(-0.5 * ((xs - x) / sigma_px) ** 2)
        gy = np.exp(-0.5 * ((ys - y) / sigma_px) ** 2)
        out += dur * np.outer(gy, gx)
    peak = out.max()
    return out / peak if peak > 0 else out


def plot_names(stem: str, trial: TrialGaze) -> tuple[str, str]:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", trial.trial_id).strip("-") or "trial"
    base = f"{stem}_trial-{trial.number:02d}_{safe}"
    return f"{base}_scanpath.png", f"{base}_heatmap.png"


def write_trial_plots(folder: Path, stem: str, trials: Sequence[TrialGaze], geometry: ScreenGeometry,
                      background: str = "#7f7f7f", dpi: int = 80) -> list[tuple[Path, Path]]:
    """Write a scanpath and a heatmap PNG for each trial into ``folder``; returns the pairs of paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(f"{folder}: cannot create the plots folder ({exc.strerror})") from exc
    out: list[tuple[Path, Path]] = []
    for trial in trials:
        names = plot_names(stem, trial)
        paths = (folder / names[0], folder / names[1])
        for path, kind in zip(paths, ("scanpath", "heatmap"), strict=True):
            fig = Figure(figsize=(geometry.width_px / dpi / 2, geometry.height_px / dpi / 2), dpi=dpi)
            ax = fig.add_axes((0, 0, 1, 1))
            _stimulus(ax, trial, geometry, background)
            if kind == "scanpath":
                _scanpath(ax, trial)
            else:
                _heatmap(ax, trial, geometry)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, facecolor=background)
            _write_new(path, buf.getvalue())
        out.append(paths)
    return out


def _write_new(path: Path, data: bytes) -> None:
    try:
        with open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError as exc:
        raise RecordingError(f"{path}: already exists; plots are never overwritten") from exc
    except OSError as exc:
        raise RecordingError(f"{path}: cannot write the plot ({exc.strerror})") from exc


def _stimulus(ax: Axes, trial: TrialGaze, geometry: ScreenGeometry, background: str) -> None:
    import matplotlib.image as mpimg

    w, h = geometry.width_px, geometry.height_px
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_facecolor(background)
    ax.axis("off")
    lay = trial.layout
    x0, y0, x1, y1 = lay.image_rect
    try:
        img = mpimg.imread(str(trial.image))
        ax.imshow(img, extent=(x0, x1, y1, y0), zorder=1)
    except (OSError, ValueError, SyntaxError):
        ax.add_patch(_rect(x0, y0, x1, y1, "#505050"))
    for word in lay.words:
        bx0, by0, bx1, by1 = word.box
        ax.text((bx0 + bx1) / 2, (by0 + by1) / 2, word.text, color="white", ha="center", va="center",
                fontsize=(by1 - by0) * 0.55 * 72 / (ax.figure.dpi * 2), zorder=2)
    ax.set_title(f"trial {trial.number}: {trial.trial_id}", color="white", fontsize=10, loc="left", y=0.97, x=0.01)


def _rect(x0: float, y0: float, x1: float, y1: float, colour: str) -> Rectangle:
    from matplotlib.patches import Rectangle

    return Rectangle((x0, y0), x1 - x0, y1 - y0, color=colour, zorder=1)


def _scanpath(ax: Axes, trial: TrialGaze) -> None:
    if not trial.fixations:
        return
    xs = [f[0] for f in trial.fixations]
    ys = [f[1] for f in trial.fixations]
    sizes = [max(30.0, 1200.0 * f[2]) for f in trial.fixations]
    ax.plot(xs, ys, "-", color="#00a0ff", lw=1.5, alpha=0.8, zorder=3)
    ax.scatter(xs, ys, s=sizes, facecolor=(0, 0.63, 1, 0.35), edgecolor="#00a0ff", lw=1.5, zorder=4)
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        ax.text(x, y, str(k + 1), color="white", ha="center", va="center", fontsize=7, zorder=5)


def _heatmap(ax: Axes, trial: TrialGaze, geometry: ScreenGeometry) -> None:
    cell = 8
    m = dwell_map(trial.fixations, (geometry.width_px, geometry.height_px), geometry.px_per_deg, cell)
    rgba = np.zeros((*m.shape, 4))
    rgba[..., 0] = 1.0
    rgba[..., 1] = 1.0 - m
    rgba[..., 3] = 0.75 * np.clip(m * 1.5, 0, 1)
    ax.imshow(rgba, extent=(0, m.shape[1] * cell, m.shape[0] * cell, 0), zorder=3, interpolation="bilinear")
