from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import PovLabError
from app.core.geometry import ScreenGeometry


def test_round_trip_and_centre() -> None:
    g = ScreenGeometry(1920, 1080, 53.3, 30.0, 60.0)
    x, y = g.px_to_deg([960, 0, 1919], [540, 0, 1079])
    assert x[0] == pytest.approx(0) and y[0] == pytest.approx(0)
    bx, by = g.deg_to_px(x, y)
    np.testing.assert_allclose(bx, [960, 0, 1919], atol=1e-9)
    np.testing.assert_allclose(by, [540, 0, 1079], atol=1e-9)


def test_px_per_deg_matches_small_angle() -> None:
    g = ScreenGeometry(1920, 1080, 53.3, 30.0, 60.0)
    ang = g.angle_between_px(960, 540, 960 + g.px_per_deg, 540)
    assert ang == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("field", ["width_px", "width_cm", "distance_cm"])
def test_rejects_non_positive(field: str) -> None:
    with pytest.raises(PovLabError, match=field):
        ScreenGeometry(**{field: 0})
