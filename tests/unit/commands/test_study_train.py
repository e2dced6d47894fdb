"""``povlab study train``: bad input is one line and exit 2; too few trials to cross-validate is said before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.runfolder.synthetic import make_session


def test_no_study_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "train", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: error: ") and "study folder not found" in err[0]


@pytest.mark.slow
def test_too_few_trials_leave_no_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study"
    make_session(study, "01", "01", duration_s=22.0, seed=1)
    assert main(["study", "train", str(study), "--folds", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("povlab: error: ") and "5-fold cross-validation needs at least 10" in err[-1]
    assert not (study / "models").exists() or not any((study / "models").iterdir())
