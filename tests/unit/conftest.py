"""Fixtures: synthetic session folders written directly (no LSL), small enough for the default run."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runfolder.synthetic import make_session


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    """A complete 25 s session at 1000 Hz: two trials, fixations, blinks, predictions."""
    return make_session(tmp_path / "data", participant="01", session="01", duration_s=25.0)
