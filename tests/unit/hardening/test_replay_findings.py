"""``povlab replay``: damaged inputs and absurd speeds end in one clear line (issue 15)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.hostile import expect_clean_error

STEM = "sub-01_ses-01_task-pov_run-001"


def test_damaged_xdf_prints_no_pyxdf_traceback(session_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = (session_dir / f"{STEM}.xdf").read_bytes()
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(src[:40] + bytes([7]) + src[41:300])
    expect_clean_error(["replay", str(bad)], capsys, "bad.xdf")


def test_truncated_physio_gz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tsv = tmp_path / "sub-01_physio.tsv.gz"
    with gzip.open(tsv, "wt") as fh:
        fh.write("100\t200\n" * 20_000)
    tsv.write_bytes(tsv.read_bytes()[:-30])
    (tmp_path / "sub-01_physio.json").write_text(json.dumps({"Columns": ["x_coordinate", "y_coordinate"],
                                                             "SamplingFrequency": 500}))
    expect_clean_error(["replay", str(tsv)], capsys, "cannot read the physio file")


@pytest.mark.parametrize("speed", ["1e-9", "0", "nan", "1e9", "-1"])
def test_absurd_speeds(session_dir: Path, capsys: pytest.CaptureFixture[str], speed: str) -> None:
    expect_clean_error(["replay", str(session_dir / f"{STEM}.xdf"), "--speed", speed], capsys, "replay speed")
