"""Fixtures: a lab's own stimuli folder and captions CSV (the bundled test images)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.paths import ASSETS_DIR

CAPTIONS = """image,caption,expected,practice
chelsea.jpg,A close-up of a cat's face,yes,1
astronaut.jpg,"An astronaut, smiling, in front of a flag",yes,
coffee.jpg,A cup of coffee on a saucer,yes,
rocket.jpg,A rocket on its launch pad,yes,
rocket.jpg,A bicycle in the rain,no,
"""


@pytest.fixture
def stimuli(tmp_path: Path) -> tuple[Path, Path]:
    """``(images_dir, captions_csv)`` for four images, one of them captioned twice, one practice row."""
    images = tmp_path / "stimuli"
    images.mkdir()
    for name in ("chelsea.jpg", "astronaut.jpg", "coffee.jpg", "rocket.jpg"):
        shutil.copyfile(ASSETS_DIR / "images" / name, images / name)
    captions = tmp_path / "captions.csv"
    captions.write_text(CAPTIONS, encoding="utf-8")
    return images, captions
