"""``povlab detect``: CSV and BIDS input, the outputs' formats, and one clear line for bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.core.geometry import ScreenGeometry
from app.core.synthetic_gaze import SimParams, Target, synthesize_gaze

GEOM_ARGS = ["--screen-px", "1920", "1080", "--screen-cm", "53.3", "30", "--distance-cm", "60"]


def _gaze(rate: float = 500.0):
    rng = np.random.default_rng(0)
    targets = [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 900)), 0.3) for _ in range(8)]
    return synthesize_gaze(targets, rate, ScreenGeometry(), SimParams(), np.random.default_rng(1)).block


def _write_csv(path: Path, rows: list[str], header: str = "time,x,y") -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _csv_rows(block) -> list[str]:
    def cell(v: float) -> str:
        return "" if np.isnan(v) else f"{v:.3f}"
    return [f"{t!r},{cell(x)},{cell(y)}" for t, x, y in zip(block.t.tolist(), block.x, block.y, strict=True)]


def test_csv_to_events_and_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = _gaze()
    src = _write_csv(tmp_path / "gaze.csv", _csv_rows(block))
    ev, smp = tmp_path / "out" / "events.tsv", tmp_path / "out" / "samples.tsv"
    assert main(["detect", str(src), "--events-out", str(ev), "--samples-out", str(smp), *GEOM_ARGS]) == 0
    lines = ev.read_text().splitlines()
    assert lines[0].split("\t")[:7] == ["onset", "duration", "trial_type", "x_coordinate", "y_coordinate",
                                        "amplitude", "peak_velocity"]
    kinds = [r.split("\t")[2] for r in lines[1:]]
    assert kinds.count("fixation") >= 6 and kinds.count("saccade") >= 6
    assert set(kinds) <= {"fixation", "saccade", "pso", "blink", "track_loss"}
    side = json.loads(ev.with_suffix(".json").read_text())
    assert side["DetectionParameters"]["method"] == "nh"
    assert side["DetectionParameters"]["screen.distance_cm"] == 60
    rows = smp.read_text().splitlines()
    assert rows[0] == "time\tlabel" and len(rows) == len(block) + 1
    assert {r.split("\t")[1] for r in rows[1:]} <= {"fixation", "saccade", "pso", "blink", "undefined"}
    assert float(rows[5].split("\t")[0]) == block.t[4]
    assert "fixation" in capsys.readouterr().out


def test_bids_physio_with_sidecar(tmp_path: Path) -> None:
    block = _gaze(250.0)
    physio = tmp_path / "sub-01_task-pov_recording-eye1_physio.tsv.gz"
    body = "".join(f"{t:.6f}\t{'n/a' if np.isnan(x) else f'{x:.2f}'}\t{'n/a' if np.isnan(y) else f'{y:.2f}'}\n"
                   for t, x, y in zip(block.t, block.x, block.y, strict=True))
    physio.write_bytes(gzip.compress(body.encode()))
    (tmp_path / "sub-01_task-pov_recording-eye1_physio.json").write_text(json.dumps({
        "Columns": ["timestamp", "x_coordinate", "y_coordinate"], "SamplingFrequency": 250,
        "timestamp": {"Units": "s"}, "ScreenSize": [0.533, 0.3], "ScreenResolution": [1920, 1080],
        "ScreenDistance": 0.6}))
    ev = tmp_path / "ev.tsv"
    assert main(["detect", str(physio), "--events-out", str(ev), "--method", "ivt"]) == 0
    side = json.loads(ev.with_suffix(".json").read_text())["DetectionParameters"]
    assert side["method"] == "ivt" and side["sampling_rate_hz"] == 250 and side["screen.distance_cm"] == 60


def _file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _sidecar(tmp_path: Path, side: dict, fields: int = 3) -> Path:
    physio = tmp_path / "x_physio.tsv"
    physio.write_text("".join((f"{i / 100:.2f}\t" if fields == 3 else "") + "100\t100\n" for i in range(50)))
    (tmp_path / "x_physio.json").write_text(json.dumps(side))
    return physio


_SIDE = {"Columns": ["timestamp", "x_coordinate", "y_coordinate"]}
_SIDE_RATE = {**_SIDE, "SamplingFrequency": 100}
BAD = [
    pytest.param(lambda p: _write_csv(p / "a.csv", ["0.0,1,1", "0.002,1,1", "0.001,1,1"]), "unsorted", id="unsorted"),
    pytest.param(lambda p: _write_csv(p / "a.csv", ["0.0,1,1", "0.001,1,1", "0.001,1,1"]), "repeated", id="repeated"),
    pytest.param(lambda p: _write_csv(p / "a.csv", ["0,1,1"], header="t,gx,gy"), "header", id="wrong-header"),
    pytest.param(lambda p: _write_csv(p / "a.csv", [], header=""), "header", id="header-only-blank"),
    pytest.param(lambda p: _file(p / "a.csv", ""), "empty", id="empty-file"),
    pytest.param(lambda p: _write_csv(p / "a.csv", []), "no samples", id="no-rows"),
    pytest.param(lambda p: _write_csv(p / "a.csv", ["0.0,1,1", "x,1,1"]), "line 3: time is not a number",
                 id="bad-number"),
    pytest.param(lambda p: _write_csv(p / "a.csv", ["0.0,1,1", ",1,1"]), "line 3: time is missing", id="no-time"),
    pytest.param(lambda p: _write_csv(p / "a.csv", [f"{i / 1000},," for i in range(5000)]), "no usable",
                 id="all-nan"),
    pytest.param(lambda p: _sidecar(p, {"Columns": ["timestamp", "x_coordinate", "y_coordinate"]}),
                 "no SamplingFrequency", id="sidecar-no-rate"),
    pytest.param(lambda p: _sidecar(p, {"Columns": ["x_coordinate"], "SamplingFrequency": 100}), "Columns",
                 id="sidecar-no-columns"),
    pytest.param(lambda p: p / "missing.csv", "file not found", id="missing-file"),
    pytest.param(lambda p: _write_csv(p / "a.csv", [f"{i / 500},{1e308 if i == 7 else 900},500" for i in range(600)]),
                 "sample 8: a value beyond 1e+09", id="x-1e308"),
    pytest.param(lambda p: _write_csv(p / "a.csv", [f"{i / 500},900,{-1e308 if i > 9 else 500}" for i in range(600)]),
                 "sample 11: a value beyond 1e+09", id="y-minus-1e308"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE, "SamplingFrequency": "fast"}), "SamplingFrequency must be a number",
                 id="sidecar-rate-string"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE, "SamplingFrequency": True}), "SamplingFrequency must be a number",
                 id="sidecar-rate-bool"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE, "SamplingFrequency": 0}), "SamplingFrequency must be positive",
                 id="sidecar-rate-zero"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE, "SamplingFrequency": -100}), "SamplingFrequency must be positive",
                 id="sidecar-rate-negative"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE, "SamplingFrequency": 1000}), "does not match the time stamps",
                 id="sidecar-rate-inconsistent"),  # time stamps 10 ms apart: 100 Hz
    pytest.param(lambda p: _sidecar(p, {"Columns": ["x_coordinate", "y_coordinate"], "SamplingFrequency": 100,
                                        "StartTime": "zero"}, fields=2), "StartTime must be a number",
                 id="sidecar-start-string"),
    pytest.param(lambda p: _sidecar(p, {"Columns": ["x_coordinate", "y_coordinate"], "SamplingFrequency": 100,
                                        "StartTime": None}, fields=2), "StartTime must be a number",
                 id="sidecar-start-null"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE_RATE, "ScreenSize": [0.5, 0.3], "ScreenResolution": [True, 1080],
                                        "ScreenDistance": 0.6}), "ScreenResolution must be two whole numbers",
                 id="sidecar-resolution-bool"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE_RATE, "ScreenSize": "big", "ScreenResolution": [1920, 1080],
                                        "ScreenDistance": 0.6}), "ScreenSize must be two numbers", id="sidecar-size"),
    pytest.param(lambda p: _sidecar(p, {**_SIDE_RATE, "ScreenSize": [0.5, 0.3], "ScreenResolution": [1920, 1080],
                                        "ScreenDistance": [0.6]}), "ScreenDistance must be a number",
                 id="sidecar-distance-list"),
    pytest.param(lambda p: _file(p / "a.txt", "time,x,y\n"), "not a gaze file POV Lab reads", id="suffix"),
]


@pytest.mark.parametrize(("rate", "message"), [
    pytest.param("0", "--rate must be a rate above 0", id="zero"),
    pytest.param("-500", "--rate must be a rate above 0", id="negative"),
    pytest.param("inf", "--rate must be a rate above 0", id="infinite"),
    pytest.param("nan", "--rate must be a rate above 0", id="nan"),
    pytest.param("1000", "sampling rate 1000 Hz does not match the time stamps (500 Hz", id="twice-the-stamps"),
    pytest.param("120", "sampling rate 120 Hz does not match the time stamps (500 Hz", id="a-quarter"),
])
def test_bad_rate_gives_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str,
                                            message: str) -> None:
    src = _write_csv(tmp_path / "gaze.csv", _csv_rows(_gaze(500.0)))
    code = main(["detect", str(src), "--events-out", str(tmp_path / "ev.tsv"), "--rate", rate, *GEOM_ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("povlab: error:") and message in err
    assert not (tmp_path / "ev.tsv").exists()
    assert main(["detect", str(src), "--events-out", str(tmp_path / "ev.tsv"), "--rate", "510", *GEOM_ARGS]) == 0


@pytest.mark.parametrize(("make", "message"), BAD)
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], make,
                                              message: str) -> None:
    src = make(tmp_path)
    code = main(["detect", str(src), "--events-out", str(tmp_path / "ev.tsv"), *GEOM_ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("povlab: error:") and message in err
    assert "Traceback" not in err


def test_long_nan_runs_become_track_loss(tmp_path: Path) -> None:
    block = _gaze()
    x = block.x.copy()
    x[200:1200] = np.nan  # 2 s without gaze
    rows = _csv_rows(type(block)(block.t, x, block.y, block.pupil))
    src = _write_csv(tmp_path / "a.csv", rows)
    ev = tmp_path / "ev.tsv"
    assert main(["detect", str(src), "--events-out", str(ev), *GEOM_ARGS]) == 0
    loss = [r.split("\t") for r in ev.read_text().splitlines()[1:] if "\ttrack_loss\t" in r]
    assert any(float(r[1]) >= 2.0 for r in loss)


def test_refuses_to_overwrite_the_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_csv(tmp_path / "a.tsv.csv", _csv_rows(_gaze()))
    assert main(["detect", str(src), "--events-out", str(tmp_path / "x.tsv"), "--samples-out", str(src)]) == 2
    assert "overwrite the input" in capsys.readouterr().err


@pytest.mark.parametrize(("columns", "side", "rows", "rate"), [
    pytest.param(["x_coordinate", "y_coordinate"], {"SamplingFrequency": 250, "StartTime": 5.0},
                 lambda t, x, y: zip(x, y, strict=True), 250, id="no-timestamp-column"),
    pytest.param(["timestamp", "x_coordinate", "y_coordinate"], {"SamplingFrequency": "n/a"},
                 lambda t, x, y: zip(t, x, y, strict=True), None, id="rate-n/a-uses-timestamps"),
    pytest.param(["timestamp", "x_coordinate", "y_coordinate"], {"SamplingFrequency": 250},
                 lambda t, x, y: zip(t * 1000, x, y, strict=True), 250, id="timestamps-in-ms-without-units"),
])
def test_bids_variants(tmp_path: Path, columns: list[str], side: dict, rows, rate: float | None) -> None:
    block = _gaze(250.0)
    physio = tmp_path / "sub-01_physio.tsv"
    physio.write_text("".join("\t".join("n/a" if np.isnan(v) else repr(float(v)) for v in r) + "\n"
                              for r in rows(block.t, block.x, block.y)))
    (tmp_path / "sub-01_physio.json").write_text(json.dumps({"Columns": columns, **side}))
    ev, smp = tmp_path / "ev.tsv", tmp_path / "smp.tsv"
    assert main(["detect", str(physio), "--events-out", str(ev), "--samples-out", str(smp), *GEOM_ARGS]) == 0
    params = json.loads(ev.with_suffix(".json").read_text())["DetectionParameters"]
    assert params["sampling_rate_hz"] == pytest.approx(250.0, rel=1e-6)
    times = [float(r.split("\t")[0]) for r in smp.read_text().splitlines()[1:]]
    assert len(times) == len(block)
    expected0 = 5.0 if "StartTime" in side else block.t[0]
    assert times[0] == pytest.approx(expected0) and times[1] - times[0] == pytest.approx(0.004)
    kinds = [r.split("\t")[2] for r in ev.read_text().splitlines()[1:]]
    assert kinds.count("fixation") >= 6


def test_warns_when_time_looks_like_milliseconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = _gaze()
    rows = [f"{t * 1000!r},{x},{y}" for t, x, y in zip(block.t.tolist(), block.x, block.y, strict=True)]
    src = _write_csv(tmp_path / "ms.csv", rows)
    assert main(["detect", str(src), "--events-out", str(tmp_path / "ev.tsv"), *GEOM_ARGS]) == 0
    assert "milliseconds" in capsys.readouterr().err


def test_bids_geometry_from_the_task_events_json(tmp_path: Path) -> None:
    block = _gaze(250.0)
    physio = tmp_path / "sub-01_task-pov_recording-eye1_physio.tsv"
    physio.write_text("".join(f"{t!r}\t{'n/a' if np.isnan(x) else x}\t{'n/a' if np.isnan(y) else y}\n"
                              for t, x, y in zip(block.t.tolist(), block.x, block.y, strict=True)))
    (tmp_path / "sub-01_task-pov_recording-eye1_physio.json").write_text(json.dumps(
        {"Columns": ["timestamp", "x_coordinate", "y_coordinate"], "SamplingFrequency": 250}))
    (tmp_path / "sub-01_task-pov_events.json").write_text(json.dumps({"StimulusPresentation": {
        "ScreenDistance": 0.7, "ScreenResolution": [1920, 1080], "ScreenSize": [0.5, 0.28]}}))
    ev = tmp_path / "ev.tsv"
    assert main(["detect", str(physio), "--events-out", str(ev)]) == 0
    params = json.loads(ev.with_suffix(".json").read_text())["DetectionParameters"]
    assert params["screen.distance_cm"] == pytest.approx(70) and params["screen.width_cm"] == pytest.approx(50)
