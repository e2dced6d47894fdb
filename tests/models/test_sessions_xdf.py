"""This app's own recordings are training data: a headless demo session's XDF -> examples -> a trained model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.sessions import session_examples


@pytest.mark.slow
def test_demo_session_xdf_trains_a_model(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    assert main(["demo", "--headless", "--duration", "30", "--out", str(tmp_path / "sessions")]) == 0
    examples = session_examples(tmp_path / "sessions")
    assert examples, "the demo session's XDF gave no answered trials"
    assert all(e.participant == "demo" and e.label in (0, 1, 2) and e.tokens for e in examples)
    assert any(e.fixations for e in examples)
    out = tmp_path / "model"
    assert main(["model", "train", "--sessions", str(tmp_path / "sessions"), "--out", str(out), "--epochs", "1"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_examples"] == len(examples)


def test_sessions_folder_without_recordings(tmp_path: Path) -> None:
    from app.core.errors import RecordingError

    with pytest.raises(RecordingError, match="no .xdf"):
        session_examples(tmp_path)
    with pytest.raises(RecordingError, match="not found"):
        session_examples(tmp_path / "missing")
