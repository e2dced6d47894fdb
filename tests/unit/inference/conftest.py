from __future__ import annotations

from pathlib import Path

import pytest

from app.core.paths import BUNDLED_MODEL


@pytest.fixture
def bundled_model() -> Path:
    if not BUNDLED_MODEL.is_file():
        pytest.fail(f"bundled model missing at {BUNDLED_MODEL}")
    return BUNDLED_MODEL
