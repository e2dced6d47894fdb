"""POV CSV and gaze files (``detect``): hostile cells end in one clear error (issue 15)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import GazeDataError
from app.core.pov_release import HEADER, read_pov_csv
from tests.hostile import expect_clean_error

ROW = ["img1", "P1", "txt_cup,vis_cup", "100,200", "100,120", "1,1", "200,300", "0"]


def _pov(tmp_path: Path, row: list[str]) -> Path:
    p = tmp_path / "fixations_x.csv"
    p.write_text("\t".join(HEADER) + "\n" + "\t".join(row) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize(("col", "value", "message"), [
    pytest.param(2, "x" * 140_000, "not a readable tab-separated file", id="cell-over-field-limit"),
    pytest.param(3, "nan,200", "is not a number from", id="nan-x"),
    pytest.param(4, "inf,1", "is not a number from", id="inf-y"),
    pytest.param(6, "1e308,1", "is not a number from 0 to 60000", id="duration-1e308"),
    pytest.param(0, "im\x00g", "NUL byte", id="nul-byte"),
])
def test_pov_csv_hostile_cells(tmp_path: Path, col: int, value: str, message: str) -> None:
    row = list(ROW)
    row[col] = value
    with pytest.raises(GazeDataError, match=message):
        read_pov_csv(_pov(tmp_path, row))


def test_pov_csv_valid_row_still_reads(tmp_path: Path) -> None:
    [t] = read_pov_csv(_pov(tmp_path, ROW))
    assert len(t.fixations) == 2 and t.answer == 0


def _physio(tmp_path: Path, side: object, rows: str = "100\t200\t0.0\n101\t201\t0.001\n102\t202\t0.002\n") -> Path:
    p = tmp_path / "sub-01_physio.tsv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(rows)
    (tmp_path / "sub-01_physio.json").write_text(side if isinstance(side, str) else json.dumps(side))
    return p


BASE = {"Columns": ["x_coordinate", "y_coordinate", "timestamp"], "SamplingFrequency": 1000}


@pytest.mark.parametrize(("side", "rows", "args", "message"), [
    pytest.param(BASE, None, ["--rate", "inf"], "--rate must be a rate", id="rate-inf"),
    pytest.param(BASE, None, ["--rate", "nan"], "--rate must be a rate", id="rate-nan"),
    pytest.param('{"Columns": ["x_coordinate", "y_coordinate", "timestamp"], "SamplingFrequency": Infinity}', None,
                 [], "SamplingFrequency must be positive", id="sidecar-rate-infinity"),
    pytest.param({**BASE, "SamplingFrequency": 1e308}, None, [], "at most 100000 Hz", id="sidecar-rate-1e308"),
    pytest.param({**BASE, "ScreenResolution": {"w": 1}, "ScreenSize": [0.5, 0.3], "ScreenDistance": 0.6}, None, [],
                 "malformed", id="dict-screen-resolution"),
    pytest.param("[" * 100_000 + "]" * 100_000, None, [], "JSON sidecar", id="json-nested-100000"),
    pytest.param(BASE, "1e308\t1\t0.0\n2\t2\t0.001\n", [], "a value beyond 1e+09", id="coordinate-1e308"),
    pytest.param(BASE, "1\t1\t1e308\n2\t2\t0.001\n", [], "is not a finite number of seconds", id="time-1e308"),
])
def test_detect_hostile_gaze_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], side: object,
                                   rows: str | None, args: list[str], message: str) -> None:
    src = _physio(tmp_path, side, rows) if rows else _physio(tmp_path, side)
    out = tmp_path / "out" / "events.tsv"
    expect_clean_error(["detect", str(src), "--events-out", str(out), *args], capsys, message)
    assert not out.exists()


def test_a_string_timestamp_description_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _physio(tmp_path, {**BASE, "timestamp": "seconds"})
    assert main(["detect", str(src), "--events-out", str(tmp_path / "e.tsv")]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_detect_truncated_gz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _physio(tmp_path, BASE, "100\t200\t0.0\n" * 5000)
    src.write_bytes(src.read_bytes()[:-20])
    expect_clean_error(["detect", str(src), "--events-out", str(tmp_path / "e.tsv")], capsys, "physio")


def test_fuzz_seed_294_screen_resolution_too_large_for_a_float(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the fuzzing harness: a 400-digit ScreenResolution reached ScreenGeometry as an int."""
    src = _physio(tmp_path, {**BASE, "ScreenResolution": [10**400, 1080]})
    expect_clean_error(["detect", str(src), "--events-out", str(tmp_path / "e.tsv")], capsys)


@pytest.mark.parametrize(("col", "value"), [pytest.param(2, "x" * 140_000, id="cell-over-field-limit"),
                                            pytest.param(6, "1e308,1", id="duration-1e308")])
def test_model_evaluate_on_a_hostile_pov_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str], col: int,
                                             value: str) -> None:
    row = list(ROW)
    row[col] = value
    expect_clean_error(["model", "evaluate", "--pov-csv", str(_pov(tmp_path, row)), "--cpu"], capsys,
                       "fixations_x.csv")
