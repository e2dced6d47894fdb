"""A recording whose stamps were damaged on disk (NaN, inf, 1e308, 1e12, a jump back) goes through every
command that reads a session: recover, detect, report, export, bundle, study status.

Each ends in a result or in one ``povlab: error:`` line, with no numpy warning on the way and nothing
lost: export keeps every gaze sample with its stamp as recorded (1e308 stayed 1e308, it used to become
inf), and fills no rows for a "gap" of 1e12 s (it used to ask for 14 PiB).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.formats.xdf_format import write_streams
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.synthetic import make_session
from tests.fuzz.harness import check_cli

VALIDATOR = shutil.which("bids-validator-deno")
DAMAGE = {"huge": 1e12, "nan": float("nan"), "inf": float("inf"), "back": 10.0, "max": 1e308}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_stamps_go_through_every_command(tmp_path: Path, kind: str) -> None:
    folder = make_session(tmp_path / "data", duration_s=12.0)
    xdf = next(folder.glob("*.xdf"))
    contents = read_session_xdf(xdf)
    gaze, markers = contents.streams["PovLab-SimTracker"], contents.streams["PovLab-Markers"]
    for stamps in (gaze.time_stamps, markers.time_stamps):
        stamps[len(stamps) // 2] = stamps[-1] = DAMAGE[kind]
    for name in ("PovLab-Fixations", "PovLab-Predictions"):  # and a damaged trial number in the live streams
        stream = contents.streams[name]
        stream.time_series[0, stream.channels.index("trial_number")] = DAMAGE[kind]
    xdf.unlink()
    write_streams(xdf, sorted(contents.streams.values(), key=lambda s: s.stream_id),
                  recorded_at=contents.recorded_at)
    meta = next(folder.glob("*_session.json"))
    meta.write_text(meta.read_text().replace('"status": "complete"', '"status": "recording"'))
    out = tmp_path / "out"
    commands = [["recover", str(folder)],
                ["detect", str(xdf), "--events-out", str(out / "events.tsv")],
                ["report", str(folder), "--aoi-metrics", str(out / "a.tsv"), "--trials", str(out / "t.tsv")],
                ["report", str(folder), "--aoi-metrics", str(out / "b.tsv"), "--fixations", "nh"],
                ["export", str(folder), "--bids", str(out / "bids")],
                ["bundle", str(folder), "--out", str(out / "b.zip")],
                ["study", "status", str(tmp_path / "data")]]
    codes = {}
    for argv in commands:
        code, err = check_cli(argv, tmp_path, tmp_path)
        assert "Warning" not in err, f"{argv}: {err}"
        codes[argv[0] if argv[0] != "report" else f"report {argv[-1]}"] = code
    assert codes["recover"] == 0 and codes["export"] == 0 and codes["bundle"] == 0, codes
    if VALIDATOR is not None:  # the official BIDS validator on the export of a damaged recording ('nan' cells)
        found = subprocess.run([VALIDATOR, "--json", str(out / "bids")], capture_output=True, text=True, timeout=120)
        errors = [(i["code"], i.get("location")) for i in json.loads(found.stdout)["issues"]["issues"]
                  if i["severity"] == "error"]
        assert errors == [], errors
    physio = sorted((out / "bids").rglob("*_physio.tsv.gz"))
    assert len(physio) == 2  # one per eye
    for path in physio:
        rows = gzip.decompress(path.read_bytes()).decode().splitlines()
        stamps = np.array([float("nan") if r.split("\t")[0] == "n/a" else float(r.split("\t")[0]) for r in rows])
        assert len(rows) >= len(gaze), path.name
        if np.isnan(DAMAGE[kind]):
            assert np.isnan(stamps).sum() >= 2, path.name
        else:
            assert (stamps == DAMAGE[kind]).sum() >= 2, f"{path.name}: the damaged stamps are exported as recorded"
