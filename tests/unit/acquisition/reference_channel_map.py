"""The array form of ``ChannelMap.apply``, as it was written before the compiled loop (``app/acquisition/
map_kernel.py``): the reference the tests compare that loop with."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.acquisition.channels import ChannelMap, MappedGaze
from app.core.errors import TrackerError

F64 = NDArray[np.float64]


def apply_arrays(cmap: ChannelMap, data: NDArray[np.generic]) -> MappedGaze:
    d = np.asarray(data, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != cmap.n_channels:
        raise TrackerError(f"channel map: expected samples of {cmap.n_channels} channels, got shape {d.shape}")
    n = d.shape[0]
    bad = np.zeros(n, dtype=bool)
    if cmap.confidence is not None:
        bad = ~(d[:, cmap.confidence] >= cmap.min_confidence)
    w, h = cmap.screen_px
    nan = np.full(n, np.nan)

    def unusable(iv: int | None) -> NDArray[np.bool_]:
        return bad if iv is None else bad | ~(d[:, iv] <= cmap.max_validity)

    def eye(ix: int | None, iy: int | None, iv: int | None) -> tuple[F64, F64]:
        if ix is None or iy is None:
            return nan, nan
        x, y = d[:, ix].copy(), d[:, iy].copy()
        lost = unusable(iv) | ~np.isfinite(x) | ~np.isfinite(y)
        for v in cmap.missing_values:
            lost |= (x == v) | (y == v)
        if cmap.unit == "normalized":
            x = x * w
            y = (1.0 - y) * h if cmap.y_origin == "bottom" else y * h
        x[lost] = np.nan
        y[lost] = np.nan
        return x, y

    lx, ly = eye(cmap.left_x, cmap.left_y, cmap.left_validity)
    rx, ry = eye(cmap.right_x, cmap.right_y, cmap.right_validity)
    with np.errstate(invalid="ignore"):
        x = np.where(np.isnan(lx), rx, np.where(np.isnan(rx), lx, lx / 2 + rx / 2))  # halves first: no overflow
        y = np.where(np.isnan(ly), ry, np.where(np.isnan(ry), ly, ly / 2 + ry / 2))
    pupils = [np.where(unusable(iv), np.nan, d[:, i])
              for i, iv in ((cmap.left_pupil, cmap.left_validity), (cmap.right_pupil, cmap.right_validity))
              if i is not None]
    if pupils:
        p = np.stack(pupils)
        with np.errstate(invalid="ignore"):
            p = np.where(np.isin(p, cmap.missing_values) | ~(p > 0), np.nan, p)
        count = np.isfinite(p).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pupil = np.where(count > 0, np.nansum(p, axis=0) / count, np.nan)
    else:
        pupil = nan
    return MappedGaze(lx, ly, rx, ry, x, y, pupil)
