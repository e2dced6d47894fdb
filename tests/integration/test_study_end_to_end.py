"""A study from a fresh folder of images: protocol new -> check -> two recorded participants -> status -> report."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.core.paths import ASSETS_DIR, BUNDLED_MODEL


def tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.slow
def test_two_participants_on_a_new_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "stimuli"
    images.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg", "rocket.jpg"):
        shutil.copyfile(ASSETS_DIR / "images" / name, images / name)
    (tmp_path / "captions.csv").write_text("image,caption,expected,practice\n"
                                           "rocket.jpg,A rocket on its launch pad,yes,1\n"
                                           "chelsea.jpg,A cat looks at the camera,yes,\n"
                                           "coffee.jpg,Two dogs play in the snow,no,\n")
    protocol = tmp_path / "study" / "protocol.toml"
    protocol.parent.mkdir()
    assert main(["protocol", "new", "--images", str(images), "--captions", str(tmp_path / "captions.csv"),
                 "--out", str(protocol), "--name", "Cats and coffee", "--fixation-cross-s", "0.3",
                 "--max-trial-s", "5", "--inter-trial-s", "0.2", "--validation-targets", "5"]) == 0
    assert main(["protocol", "check", str(protocol)]) == 0
    capsys.readouterr()

    sessions = tmp_path / "study" / "sessions"
    for pid, seed in (("01", "1"), ("02", "2")):
        model = [] if BUNDLED_MODEL.is_file() else ["--no-model"]
        assert main(["run", "--protocol", str(protocol), "--participant", pid, "--headless", "--out",
                     str(sessions), "--seed", seed, *model]) == 0
    capsys.readouterr()

    assert main(["study", "status", str(sessions), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["protocol"]["name"] == "Cats and coffee"
    assert [p["participant"] for p in st["participants"]] == ["01", "02"]
    for p in st["participants"]:
        (s,) = p["sessions"]
        assert (s["status"], s["trials_done"], s["practice_done"], s["trials_total"]) == ("complete", 2, 1, 2)
        assert s["quality"]["validation_mean_deg"] is not None and s["quality"]["lost_pct"] == 0.0
        assert s["action"] is None
        if BUNDLED_MODEL.is_file():
            assert s["agreement_trials"] >= 1 and s["agreement"] is not None

    aoi, trials = tmp_path / "aoi.tsv", tmp_path / "trials.tsv"
    assert main(["report", str(sessions), "--aoi-metrics", str(aoi), "--trials", str(trials)]) == 0
    rows, trial_rows = tsv(aoi), tsv(trials)
    assert [(r["participant"], r["trial_id"]) for r in trial_rows] == [
        ("01", "rocket"), ("01", "chelsea"), ("01", "coffee"), ("02", "rocket"), ("02", "chelsea"), ("02", "coffee")]
    words = {(r["participant"], r["trial_id"]): [] for r in trial_rows}
    for r in rows:
        words[(r["participant"], r["trial_id"])].append(r["ia_label"])
    assert words[("01", "chelsea")] == ["txt_a", "txt_cat", "txt_looks", "txt_at", "txt_the", "txt_camera"]
    # the simulated eye reads the caption: most words are fixated, with dwell and a first-fixation time
    fixated = [r for r in rows if r["fixated"] == "1"]
    assert len(fixated) >= len(rows) // 2
    assert all(float(r["dwell_time_ms"]) > 0 and r["first_fixation_time_ms"] != "n/a" for r in fixated)
    # the answers are the recorded ones
    for pid in ("01", "02"):
        recorded = {r["trial_id"]: r["response"] for r in tsv(next((sessions / f"sub-{pid}" / "ses-01")
                                                                    .glob("*_trials.tsv")))}
        assert {r["trial_id"]: r["response"] for r in trial_rows if r["participant"] == pid} == recorded
        assert {r["response"] for r in rows if r["participant"] == pid} <= set(recorded.values())
