"""``povlab report``: per-AOI metrics computed from the XDF alone, checked against a hand-made recording."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.core.streams import FIXATIONS, PREDICTIONS, SIM_GAZE
from app.formats.xdf_format import stream_header_xml
from app.formats.xdf_writer import XdfWriter
from app.runfolder.folder import write_json_atomic
from app.runfolder.synthetic import GAZE_META, make_session

T0 = 100.0  # STIM_ONSET of the one trial
MARKERS = [
    (T0 - 2.0, "SESSION_START Hand-made"), (T0 - 1.0, "TRIALID 1"), (T0 - 1.0, "!V TRIAL_VAR trial_id dog"),
    (T0 - 1.0, "!V TRIAL_VAR practice 0"), (T0 - 1.0, "!V TRIAL_VAR image dog.jpg"),
    (T0 - 1.0, "!V TRIAL_VAR caption 'A dog'"), (T0 - 1.0, "!V TRIAL_VAR expected yes"),
    (T0 - 1.0, "!V IAREA RECTANGLE 1 100.0 50.0 200.0 100.0 txt_dog"),
    (T0 - 1.0, "!V IAREA FREEHAND 2 500.0,500.0 900.0,500.0 700.0,900.0 vis_dog"),
    (T0 - 1.0, "!V IAREA RECTANGLE 3 1500.0 50.0 1600.0 100.0 txt_a"),
    (T0 - 1.0, "FIXCROSS_ONSET"), (T0, "STIM_ONSET"), (T0 + 2.5, "!V TRIAL_VAR response no"),
    (T0 + 2.5, "!V TRIAL_VAR rt_ms 2500.0"), (T0 + 2.5, "TRIAL_RESULT 1"), (T0 + 2.51, "STIM_OFFSET"),
    (T0 + 3.0, "SESSION_END")]
# onset (relative to T0), duration, x, y
FIXES = [(-0.6, 0.3, 960, 540),          # during the fixation cross: not in the interest period
         (0.10, 0.20, 150, 75),           # txt_dog
         (0.35, 0.10, 1000, 300),         # off every AOI (far from all)
         (0.50, 0.30, 700, 600),          # vis_dog (inside the triangle)
         (0.85, 0.25, 205, 75),           # txt_dog again, 5 px outside: within the 0.5 deg margin
         (2.60, 0.20, 150, 75)]           # after STIM_OFFSET: not in the interest period


def gaze_of_fixations(rate: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """Binocular gaze that rests on each of FIXES and jumps to the next in 30 ms (0.3 px noise)."""
    t = T0 - 2.0 + np.arange(int(5.0 * rate)) / rate
    pos = np.empty((len(t), 2))
    starts = [T0 + o for o, _, _, _ in FIXES]
    for i, ti in enumerate(t):
        k = int(np.searchsorted(starts, ti, side="right")) - 1
        here = np.array(FIXES[max(k, 0)][2:], dtype=float)
        if 0 <= k < len(FIXES) - 1 and ti > starts[k + 1] - 0.03:
            u = (ti - (starts[k + 1] - 0.03)) / 0.03
            here = here + u * (np.array(FIXES[k + 1][2:], dtype=float) - here)
        pos[i] = here
    rng = np.random.default_rng(0)
    gaze = np.column_stack([pos[:, 0], pos[:, 1], pos[:, 0] + 2, pos[:, 1], np.full(len(t), 3.5), np.full(len(t), 3.5)])
    gaze[:, :4] += rng.normal(0, 0.3, (len(t), 4))
    return t, gaze


def hand_made_session(root: Path, participant: str = "07") -> Path:
    folder = root / f"sub-{participant}" / "ses-01"
    folder.mkdir(parents=True)
    stem = f"sub-{participant}_ses-01_task-pov_run-001"
    w = XdfWriter(folder / f"{stem}.xdf")
    try:
        w.stream_header(1, stream_header_xml("PovLab-Markers", "Markers", ("marker",), "string", 0.0, "m"))
        w.stream_header(2, stream_header_xml(FIXATIONS.name, FIXATIONS.type, FIXATIONS.channels, "double64", 0.0,
                                             "f", FIXATIONS.units))
        w.stream_header(3, stream_header_xml(PREDICTIONS.name, PREDICTIONS.type, PREDICTIONS.channels, "double64",
                                             0.0, "p"))
        w.samples(1, "string", np.array([m[0] for m in MARKERS]), [[m[1]] for m in MARKERS])
        fx = np.array([[T0 + o, d, x, y, 1, -1] for o, d, x, y in FIXES])
        w.samples(2, "double64", fx[:, 0] + fx[:, 1], fx)
        w.samples(3, "double64", np.array([T0 + 1.0, T0 + 2.0]), np.array([[1, 0.2, 0.7, 0.1, 2],
                                                                          [1, 0.6, 0.3, 0.1, 4]]))
        w.stream_header(4, stream_header_xml(SIM_GAZE.name, SIM_GAZE.type, SIM_GAZE.channels, "double64", 500.0,
                                             "g", SIM_GAZE.units, extra=GAZE_META))
        gt, gaze = gaze_of_fixations()
        w.samples(4, "double64", gt, gaze)
        for sid, stamps in ((1, [m[0] for m in MARKERS]), (2, list(fx[:, 0] + fx[:, 1])), (3, [T0 + 1, T0 + 2]),
                            (4, list(gt))):
            w.stream_footer(sid, stamps[0], stamps[-1], len(stamps), [])
    finally:
        w.close()
    write_json_atomic(folder / f"{stem}_session.json", {
        "participant": participant, "session": "01", "task": "pov", "run": 1, "status": "complete",
        "protocol_name": "Hand-made", "protocol_sha256": "cd" * 32, "tracker": {"name": SIM_GAZE.name},
        "screen": {"width_px": 1920, "height_px": 1080, "width_cm": 53.1, "height_cm": 29.9, "distance_cm": 60.0}})
    return folder


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_aoi_metrics_of_a_hand_made_trial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = hand_made_session(tmp_path / "study")
    aoi, trials = tmp_path / "aoi.tsv", tmp_path / "trials.tsv"
    assert main(["report", str(session), "--aoi-metrics", str(aoi), "--trials", str(trials)]) == 0
    assert "wrote 3 AOI rows" in capsys.readouterr().out
    rows = {r["ia_label"]: r for r in read_tsv(aoi)}
    word, obj, never = rows["txt_dog"], rows["vis_dog"], rows["txt_a"]
    total = 0.20 + 0.10 + 0.30 + 0.25
    assert (word["participant"], word["trial_number"], word["trial_id"], word["ia_id"]) == ("07", "1", "dog", "1")
    assert (word["ia_kind"], word["ia_text"], obj["ia_kind"], obj["ia_text"]) == ("word", "dog", "object", "dog")
    assert float(word["dwell_time_ms"]) == pytest.approx(450.0)
    assert float(word["dwell_time_pct"]) == pytest.approx(100 * 0.45 / total, abs=1e-3)
    assert (word["fixation_count"], word["run_count"], word["revisits"], word["fixated"]) == ("2", "2", "1", "1")
    assert float(word["first_fixation_time_ms"]) == pytest.approx(100.0)
    assert float(word["first_fixation_duration_ms"]) == pytest.approx(200.0)
    assert float(word["fixation_pct"]) == pytest.approx(50.0)
    assert float(obj["dwell_time_ms"]) == pytest.approx(300.0) and obj["fixation_count"] == "1"
    assert float(obj["first_fixation_time_ms"]) == pytest.approx(500.0) and obj["revisits"] == "0"
    assert float(obj["ia_area_px"]) == pytest.approx(400 * 400 / 2)
    assert (obj["ia_left"], obj["ia_top"], obj["ia_right"], obj["ia_bottom"]) == ("500", "500", "900", "900")
    assert never["dwell_time_ms"] == "0" and never["first_fixation_time_ms"] == "n/a"
    assert never["first_fixation_duration_ms"] == "n/a" and never["fixated"] == "0" and never["run_count"] == "0"
    assert {(r["expected"], r["response"], r["rt_ms"]) for r in rows.values()} == {("yes", "no", "2500")}
    (trial,) = read_tsv(trials)
    assert trial["fixation_count"] == "4" and float(trial["dwell_time_ms"]) == pytest.approx(850.0)
    assert float(trial["off_aoi_dwell_time_ms"]) == pytest.approx(100.0)
    assert (trial["word_aois_fixated"], trial["word_aois"], trial["object_aois_fixated"]) == ("1", "2", "1")
    assert float(trial["stim_duration_ms"]) == pytest.approx(2510.0)
    # the last prediction of the trial (p_yes 0.6) is the one reported; it said yes, the answer was no
    assert (trial["p_yes"], trial["predicted"], trial["model_agrees"]) == ("0.6", "yes", "0")


def test_fixations_detected_offline_in_the_recorded_gaze(tmp_path: Path) -> None:
    session = hand_made_session(tmp_path / "study")
    for method in ("nh", "ivt"):
        out = tmp_path / f"{method}.tsv"
        assert main(["report", str(session), "--aoi-metrics", str(out), "--fixations", method]) == 0
        rows = {r["ia_label"]: r for r in read_tsv(out)}
        word, obj = rows["txt_dog"], rows["vis_dog"]
        # the gaze rests on the word from 0.10 s and comes back to it at 0.85 s; in between, the object
        assert word["fixation_count"] == "2" and word["revisits"] == "1", (method, word)
        assert float(word["first_fixation_time_ms"]) == pytest.approx(100.0, abs=30.0)
        assert obj["fixation_count"] == "1" and float(obj["first_fixation_time_ms"]) == pytest.approx(500, abs=40)
        assert rows["txt_a"]["fixated"] == "0"


def test_offline_detection_needs_gaze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_session(tmp_path / "s", "01", "01", duration_s=12.0)
    from app.formats.xdf_format import write_streams
    from app.formats.xdf_reader import read_session_xdf

    xdf = next(folder.glob("*.xdf"))
    streams = read_session_xdf(xdf).streams
    xdf.unlink()
    write_streams(xdf, [s for s in streams.values() if s.type != "Gaze"])
    assert main(["report", str(folder), "--aoi-metrics", str(tmp_path / "a.tsv"), "--fixations", "nh"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("povlab: error: ") and "no gaze samples to detect fixations in" in line


def test_margin_zero_counts_only_fixations_inside(tmp_path: Path) -> None:
    session = hand_made_session(tmp_path / "study")
    main(["report", str(session), "--aoi-metrics", str(tmp_path / "a.tsv"), "--margin-deg", "0"])
    word = next(r for r in read_tsv(tmp_path / "a.tsv") if r["ia_label"] == "txt_dog")
    assert word["fixation_count"] == "1" and float(word["dwell_time_ms"]) == pytest.approx(200.0)


def test_study_report_has_every_participant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    make_session(root, "01", "01", duration_s=32.0, seed=1)
    make_session(root, "02", "01", duration_s=22.0, seed=2)
    trials = tmp_path / "t.tsv"
    assert main(["report", str(root), "--aoi-metrics", str(tmp_path / "a.tsv"), "--trials", str(trials)]) == 0
    rows = read_tsv(trials)
    assert [(r["participant"], r["trial_number"]) for r in rows] == [("01", "1"), ("01", "2"), ("01", "3"),
                                                                     ("02", "1"), ("02", "2")]
    assert {r["ia_label"] for r in read_tsv(tmp_path / "a.tsv")} == {"w01_A"}


def test_crashed_session_is_refused_and_nothing_is_written(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    make_session(root, "01", "01", duration_s=22.0)
    crashed = make_session(root, "02", "01", duration_s=22.0, status="recording")
    old = time.time() - 600
    for p in crashed.iterdir():
        os.utime(p, (old, old))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    out = tmp_path / "a.tsv"
    assert main(["report", str(root), "--aoi-metrics", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"povlab: error: {crashed}: run sub-02_ses-01_task-pov_run-001 is crashed")
    assert f"run 'povlab recover {crashed}' first" in line
    assert not out.exists() and not list(tmp_path.glob(".a.tsv*"))
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    # after the recovery the same command reports the recovered run
    assert main(["recover", str(crashed)]) == 0
    assert main(["report", str(root), "--aoi-metrics", str(out)]) == 0
    assert {r["participant"] for r in read_tsv(out)} == {"01", "02"}


def test_never_overwrites_a_recorded_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = make_session(tmp_path / "s", "01", "01", duration_s=12.0)
    trials_tsv = next(session.glob("*_trials.tsv"))
    before = trials_tsv.read_bytes()
    assert main(["report", str(session), "--aoi-metrics", str(trials_tsv)]) == 2
    assert "never overwrites recorded files" in capsys.readouterr().err
    assert trials_tsv.read_bytes() == before


def test_mixed_protocols_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    make_session(root, "01", "01", duration_s=12.0)
    hand_made_session(root, "02")
    assert main(["report", str(root), "--aoi-metrics", str(tmp_path / "a.tsv")]) == 2
    assert "sessions of 2 protocols in one study folder" in capsys.readouterr().err
    assert not (tmp_path / "a.tsv").exists()


def test_same_tables_in_bids_derivatives_and_bundle(tmp_path: Path) -> None:
    import json
    import zipfile

    from app.runfolder.bids_export import export_session
    from app.runfolder.bundle import bundle_session, import_bundle, verify_bundle

    session = hand_made_session(tmp_path / "study")
    main(["report", str(session), "--aoi-metrics", str(tmp_path / "a.tsv"), "--trials", str(tmp_path / "t.tsv")])
    cli_aoi, cli_trials = (tmp_path / "a.tsv").read_bytes(), (tmp_path / "t.tsv").read_bytes()
    export_session(session, tmp_path / "bids")
    deriv = tmp_path / "bids" / "derivatives" / "povlab" / "sub-07" / "ses-01" / "beh"
    prefix = "sub-07_ses-01_task-pov_run-1"
    assert (deriv / f"{prefix}_desc-aoimetrics_beh.tsv").read_bytes() == cli_aoi
    assert (deriv / f"{prefix}_desc-trialmetrics_beh.tsv").read_bytes() == cli_trials
    side = json.loads((deriv / f"{prefix}_desc-aoimetrics_beh.json").read_text())
    assert "IA_DWELL_TIME" in side["dwell_time_ms"]["Description"] and side["dwell_time_ms"]["Units"] == "ms"
    assert "Time to first fixation" in side["first_fixation_time_ms"]["Description"]

    stem = "sub-07_ses-01_task-pov_run-001"
    bundle = bundle_session(session, tmp_path / "s.zip").path
    assert verify_bundle(bundle).ok
    with zipfile.ZipFile(bundle) as zf:
        assert zf.read(f"sub-07/ses-01/derivatives/{stem}_desc-aoimetrics_beh.tsv") == cli_aoi
        assert zf.read(f"sub-07/ses-01/derivatives/{stem}_desc-trialmetrics_beh.tsv") == cli_trials
    assert not (session / "derivatives").exists()  # bundling writes nothing into the session folder
    imported = import_bundle(bundle, tmp_path / "elsewhere")
    assert (imported / "derivatives" / f"{stem}_desc-aoimetrics_beh.tsv").read_bytes() == cli_aoi
    again = bundle_session(imported, tmp_path / "again.zip")  # the imported tables are bundled once, as files
    assert verify_bundle(again.path).ok
    with zipfile.ZipFile(again.path) as zf:
        names = zf.namelist()
    assert len(names) == len(set(names))


def test_every_column_is_documented() -> None:
    from app.core.paths import ROOT
    from app.runfolder.aoi_report import AOI_COLUMN_DOCS, AOI_COLUMNS, TRIAL_COLUMN_DOCS, TRIAL_COLUMNS

    doc = (ROOT / "docs" / "studies.md").read_text(encoding="utf-8")
    for columns, docs in ((AOI_COLUMNS, AOI_COLUMN_DOCS), (TRIAL_COLUMNS, TRIAL_COLUMN_DOCS)):
        assert set(columns) == set(docs)
        for c in columns:
            assert f"| `{c}` |" in doc, c
