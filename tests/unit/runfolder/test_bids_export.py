"""BIDS export: the official validator finds zero errors; BEP020 files carry what the spec asks; sessions add up."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.cli import main
from app.core.errors import BundleError
from app.formats.pymovements_gaze import pymovements_arguments, read_pymovements
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.bids_export import export_session
from app.runfolder.synthetic import make_session

VALIDATOR = shutil.which("bids-validator-deno")
BEH = Path("sub-01/ses-01/beh")
PREFIX = "sub-01_ses-01_task-pov_run-1"


def _validate(dataset: Path) -> dict:
    assert VALIDATOR, "bids-validator-deno is not installed (pip install bids-validator-deno)"
    out = subprocess.run([VALIDATOR, "--json", str(dataset)], capture_output=True, text=True, timeout=120,
                         cwd=dataset)
    return json.loads(out.stdout)


def test_export_passes_the_official_validator(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    result = _validate(ds)
    issues = [(i["severity"], i["code"], i.get("subCode"), i.get("location")) for i in result["issues"]["issues"]]
    assert issues == []  # no error and no warning
    assert "beh" in result["summary"]["modalities"]
    description = json.loads((ds / "dataset_description.json").read_text())
    assert description["Authors"] == ["POV Lab demo author A", "POV Lab demo author B"]  # the protocol's [study]
    assert description["HEDVersion"] == "8.3.0"
    events = json.loads((ds / BEH / f"{PREFIX}_events.json").read_text())
    assert events["Instructions"].startswith("You will see a sentence above a picture.")
    assert events["InstitutionName"] == "POV Lab demo institution" and "HED" in events["trial_type"]
    pupil = json.loads((ds / BEH / f"{PREFIX}_recording-eye1_physio.json").read_text())["pupil_size"]
    assert pupil["Description"].startswith("Pupil diameter") and pupil["Units"] == "mm"


def test_physio_files_follow_bep020(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    report = export_session(session_dir, ds)
    assert report.runs == [PREFIX]
    contents = read_session_xdf(next(session_dir.glob("*.xdf")))
    gaze, n_markers = contents.streams["PovLab-SimTracker"], len(contents.streams["PovLab-Markers"])
    for label, eye, xcol in (("eye1", "left", 0), ("eye2", "right", 2)):
        side = json.loads((ds / BEH / f"{PREFIX}_recording-{label}_physio.json").read_text())
        assert side["PhysioType"] == "eyetrack" and side["RecordedEye"] == eye
        assert side["SampleCoordinateSystem"] == "gaze-on-screen"
        assert side["Columns"] == ["timestamp", "x_coordinate", "y_coordinate", "pupil_size"]
        assert side["SamplingFrequency"] == 1000.0 and side["StartTime"] == 0.0
        assert side["AverageCalibrationError"] == 0.42 and side["MaximalCalibrationError"] == 0.91
        with gzip.open(ds / BEH / f"{PREFIX}_recording-{label}_physio.tsv.gz", "rt") as fh:
            rows = [line.rstrip("\n").split("\t") for line in fh]
        assert len(rows) == len(gaze)  # no header line, one row per sample
        x = np.array([np.nan if r[1] == "n/a" else float(r[1]) for r in rows])
        np.testing.assert_allclose(x, gaze.time_series[:, xcol], atol=0.006, equal_nan=True)
        ev = json.loads((ds / BEH / f"{PREFIX}_recording-{label}_physioevents.json").read_text())
        assert ev["Columns"] == ["onset", "duration", "trial_type", "blink", "message"]
        assert ev["OnsetSource"] == "timestamp"
        with gzip.open(ds / BEH / f"{PREFIX}_recording-{label}_physioevents.tsv.gz", "rt") as fh:
            kinds = [line.split("\t")[2] for line in fh]
        assert kinds.count("fixation") > 50 and kinds.count("saccade") > 20
        assert kinds.count("blink") == 6  # one every 4 s from 2 s on in 25 s
        assert kinds.count("n/a") == n_markers  # every marker is a message row
    events = json.loads((ds / BEH / f"{PREFIX}_events.json").read_text())
    assert events["StimulusPresentation"] == {
        "ScreenDistance": 0.6, "ScreenOrigin": ["top", "left"], "ScreenResolution": [1920, 1080],
        "ScreenSize": [0.531, 0.299], "SoftwareName": "POV Lab", "SoftwareVersion": "0.1.0"}


def test_events_responses_predictions_sourcedata(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    with open(ds / BEH / f"{PREFIX}_events.tsv") as fh:
        events = list(csv.DictReader(fh, delimiter="\t"))
    with open(next(session_dir.glob("*_trials.tsv"))) as fh:
        trials = list(csv.DictReader(fh, delimiter="\t"))
    assert [e["trial_type"] for e in events] == ["practice", "trial"]
    assert [e["response"] for e in events] == [t["response"] for t in trials]
    assert float(events[0]["onset"]) == pytest.approx(float(trials[0]["stim_onset"]) - 1000.0, abs=1e-6)
    assert (ds / "stimuli" / events[0]["stim_file"]).is_file()
    with open(ds / "derivatives/povlab" / BEH / f"{PREFIX}_desc-predictions_beh.tsv") as fh:
        preds = list(csv.DictReader(fh, delimiter="\t"))
    assert [float(p["p_yes"]) for p in preds] == pytest.approx([float(t["p_yes"]) for t in trials], abs=1e-5)
    src = ds / "sourcedata/sub-01/ses-01" / next(session_dir.glob("*.xdf")).name
    assert src.read_bytes() == next(session_dir.glob("*.xdf")).read_bytes()
    streams, _ = pyxdf.load_xdf(str(src))  # the XDF as shipped opens in pyxdf
    assert {s["info"]["name"][0] for s in streams} == {"PovLab-SimTracker", "PovLab-Markers", "PovLab-Fixations",
                                                       "PovLab-Predictions"}


def test_second_session_adds_to_the_dataset(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    other = make_session(tmp_path / "data2", participant="02", session="01", duration_s=12.0, seed=3)
    export_session(other, ds)
    with open(ds / "participants.tsv") as fh:
        assert [r["participant_id"] for r in csv.DictReader(fh, delimiter="\t")] == ["sub-01", "sub-02"]
    assert (ds / BEH / f"{PREFIX}_events.tsv").is_file()
    assert (ds / "sub-02/ses-01/beh/sub-02_ses-01_task-pov_run-1_recording-eye1_physio.tsv.gz").is_file()
    before = {p: p.read_bytes() for p in ds.rglob("*") if p.is_file()}
    with pytest.raises(BundleError, match="already in this dataset"):
        export_session(other, ds)
    assert {p: p.read_bytes() for p in ds.rglob("*") if p.is_file()} == before
    assert [i for i in _validate(ds)["issues"]["issues"] if i["severity"] == "error"] == []


def test_cli_export_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nothing"), "--bids", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a session folder" in err[0]


def test_gaze_opens_in_pymovements_in_one_call(session_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("pymovements")
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    physio = ds / BEH / f"{PREFIX}_recording-eye1_physio.tsv.gz"
    g = read_pymovements(physio)
    n = len(read_session_xdf(next(session_dir.glob("*.xdf"))).streams["PovLab-SimTracker"])
    assert g.samples.height == n
    assert g.experiment.screen.width_px == 1920 and g.experiment.sampling_rate == 1000.0
    g.pix2deg()
    g.pos2vel()
    g.detect("ivt")  # pymovements' own I-VT finds the synthetic fixations
    assert (g.events.frame["name"] == "fixation").sum() > 30
    # the literal call the docs give, without POV Lab: the same samples
    a = pymovements_arguments(physio)
    assert a["from_csv"]["read_csv_kwargs"]["new_columns"] == ["timestamp", "x_coordinate", "y_coordinate",
                                                              "pupil_size"]


def test_pymovements_reader_bad_input(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    physio = ds / BEH / f"{PREFIX}_recording-eye1_physio.tsv.gz"
    with pytest.raises(BundleError, match="_physio.tsv.gz"):
        pymovements_arguments(ds / BEH / f"{PREFIX}_events.tsv")
    (ds / BEH / f"{PREFIX}_events.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="expected a JSON object"):
        pymovements_arguments(physio)
    (ds / BEH / f"{PREFIX}_events.json").unlink()
    with pytest.raises(BundleError, match="missing"):
        pymovements_arguments(physio)


def test_truncated_xdf_exports_what_it_holds(session_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    xdf = next(session_dir.glob("*.xdf"))
    full = read_session_xdf(xdf).streams["PovLab-SimTracker"]
    data = xdf.read_bytes()
    xdf.write_bytes(data[: int(len(data) * 0.7)])
    assert main(["export", str(session_dir), "--bids", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "file ends inside" in out and "no footer" in out
    with gzip.open(tmp_path / "ds" / BEH / f"{PREFIX}_recording-eye1_physio.tsv.gz", "rt") as fh:
        n = sum(1 for _ in fh)
    assert 0.6 * len(full) < n < len(full)
    assert [i for i in _validate(tmp_path / "ds")["issues"]["issues"] if i["severity"] == "error"] == []


@pytest.mark.parametrize("t, expected", [
    pytest.param([0.0, 0.001, 0.002], [0.0, 0.001, 0.002], id="no-gap"),
    pytest.param([0.0, 0.001, 0.0045, 0.0055], [0.0, 0.001, 0.002, 0.003, 0.0045, 0.0055], id="gap-of-2.5"),
    pytest.param([0.0, 0.0014, 0.0024], [0.0, 0.0014, 0.0024], id="jitter-is-not-a-gap"),
])
def test_fill_gaps_keeps_the_nominal_rate(t: list[float], expected: list[float]) -> None:
    from app.formats.bids_physio import fill_gaps

    tt, (x,) = fill_gaps(np.array(t), [np.arange(len(t), dtype=float)], 1000.0)
    np.testing.assert_allclose(tt, expected)
    assert np.isnan(x).sum() == len(expected) - len(t)
    np.testing.assert_array_equal(x[np.isfinite(x)], np.arange(len(t)))


def test_tracker_gap_is_marked_and_filled(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "data", duration_s=20.0, gap=(5.0, 3.0))
    gaze = read_session_xdf(next(folder.glob("*.xdf"))).streams["PovLab-SimTracker"]
    assert len(gaze) == 17000
    ds = tmp_path / "bids"
    export_session(folder, ds)
    with gzip.open(ds / BEH / f"{PREFIX}_recording-eye1_physio.tsv.gz", "rt") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh]
    assert len(rows) == 20000  # the 3 s gap is 3000 rows of n/a at 1000 Hz
    assert sum(r[1:] == ["n/a"] * 3 for r in rows) >= 3000
    with open(ds / BEH / f"{PREFIX}_events.tsv") as fh:
        gaps = [e for e in csv.DictReader(fh, delimiter="\t") if e["trial_type"] == "tracker_gap"]
    assert [(float(g["onset"]), float(g["duration"])) for g in gaps] == [(5.0, 3.0)]


def test_different_stimuli_of_the_same_name_both_kept(session_dir: Path, tmp_path: Path) -> None:
    ds = tmp_path / "bids"
    export_session(session_dir, ds)
    other = make_session(tmp_path / "data2", participant="02", duration_s=12.0)
    (other / "stimuli" / "chelsea.jpg").write_bytes(b"another image with the same name")
    export_session(other, ds)
    assert (ds / "stimuli" / "chelsea.jpg").read_bytes() == (session_dir / "stimuli" / "chelsea.jpg").read_bytes()
    with open(ds / "sub-02/ses-01/beh/sub-02_ses-01_task-pov_run-1_events.tsv") as fh:
        names = [e["stim_file"] for e in csv.DictReader(fh, delimiter="\t")]
    assert names[0].startswith("chelsea-") and names[0].endswith(".jpg")
    assert (ds / "stimuli" / names[0]).read_bytes() == b"another image with the same name"
