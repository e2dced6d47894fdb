"""``povlab bench study``: the simulated study's learning curve (slow: it trains and exports models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "study", "--participants", "4", "--held-out", "2", "--steps", "3"]) == 2
    assert "steps between 1 and" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_study_json_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    fig = tmp_path / "curve.png"
    assert main(["bench", "study", "--participants", "5", "--held-out", "2", "--steps", "1,3", "--epochs", "2",
                 "--json", "--figure", str(fig), "--workdir", str(tmp_path / "work")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["held_out_trials"] == 2 * 36 and [c["train_participants"] for c in out["curve"]] == [1, 3]
    for c in out["curve"]:
        assert 0 <= c["model_accuracy"] <= 1 and 0 <= c["prior_accuracy"] <= 1 and 0 <= c["majority_accuracy"] <= 1
    assert out["curve"][1]["train_trials"] == 3 * 36
    assert 0.8 < out["rule_ceiling_accuracy"] <= 1.0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "work" / "model-03" / "model.onnx").is_file()  # the model a lab would choose
