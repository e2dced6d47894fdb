"""Screen geometry: the one object that converts pixels to centimetres and degrees.

Used by detection (velocities in deg/s), AOI margins, validation of the calibration
and the BIDS export (``StimulusPresentation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.core.errors import PovLabError
from app.core.limits import finite_number


@dataclass(frozen=True)
class ScreenGeometry:
    """A flat screen seen from ``distance_cm`` on the perpendicular through its centre.

    Pixel coordinates have their origin at the top-left corner, x to the right, y down.
    """

    width_px: int = 1920
    height_px: int = 1080
    width_cm: float = 53.3
    height_cm: float = 30.0
    distance_cm: float = 60.0

    def __post_init__(self) -> None:
        for name in ("width_px", "height_px", "width_cm", "height_cm", "distance_cm"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise PovLabError(f"screen geometry: {name} must be a number, got {str(value)[:40]!r}")
            if not finite_number(value) or value <= 0:  # finite_number: also no int too large for a float
                raise PovLabError(f"screen geometry: {name} must be positive and finite, got {str(value)[:40]}")

    @property
    def cm_per_px(self) -> tuple[float, float]:
        return self.width_cm / self.width_px, self.height_cm / self.height_px

    @property
    def px_per_deg(self) -> float:
        """Pixels per degree of visual angle at the screen centre (mean of both axes)."""
        cmx, cmy = self.cm_per_px
        cm_per_deg = 2 * self.distance_cm * math.tan(math.radians(0.5))
        return cm_per_deg / ((cmx + cmy) / 2)

    def px_to_deg(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Screen pixels -> degrees of visual angle from the screen centre (Fick-free, atan)."""
        cmx, cmy = self.cm_per_px
        xc = (np.asarray(x, dtype=np.float64) - self.width_px / 2) * cmx
        yc = (np.asarray(y, dtype=np.float64) - self.height_px / 2) * cmy
        return (
            np.degrees(np.arctan2(xc, self.distance_cm)),
            np.degrees(np.arctan2(yc, self.distance_cm)),
        )

    def deg_to_px(self, xdeg: ArrayLike, ydeg: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Degrees from the screen centre -> screen pixels (inverse of :meth:`px_to_deg`)."""
        cmx, cmy = self.cm_per_px
        xc = np.tan(np.radians(np.asarray(xdeg, dtype=np.float64))) * self.distance_cm
        yc = np.tan(np.radians(np.asarray(ydeg, dtype=np.float64))) * self.distance_cm
        return xc / cmx + self.width_px / 2, yc / cmy + self.height_px / 2

    def angle_between_px(
        self, x1: ArrayLike, y1: ArrayLike, x2: ArrayLike, y2: ArrayLike
    ) -> NDArray[np.float64]:
        """Visual angle in degrees between two screen points, seen from the eye."""
        cmx, cmy = self.cm_per_px
        d = self.distance_cm

        def vec(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
            xc = (np.asarray(x, dtype=np.float64) - self.width_px / 2) * cmx
            yc = (np.asarray(y, dtype=np.float64) - self.height_px / 2) * cmy
            return np.stack(np.broadcast_arrays(xc, yc, np.full_like(xc, d)), axis=-1)

        a, b = vec(x1, y1), vec(x2, y2)
        cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
