"""A recorded demo session (headless, simulated tracker over loopback LSL) read by the tools labs use:
mne-xdf and pyxdf open its XDF, bids-validator-deno finds nothing to say about its BIDS export, pymovements
reads the export and runs its own I-VT."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest
import pyxdf

from app.cli import main
from app.formats.pymovements_gaze import read_pymovements


@pytest.mark.slow
def test_recorded_session_in_mne_pyxdf_validator_pymovements(short_protocol: Path, tmp_path: Path, capsys) -> None:
    assert main(["run", "--protocol", str(short_protocol), "--participant", "P03", "--out", str(tmp_path / "out"),
                 "--headless", "--no-model", "--seed", "2"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    xdf = next(folder.glob("*.xdf"))
    streams, header = pyxdf.load_xdf(str(xdf))
    ids = {s["info"]["name"][0]: s["info"]["stream_id"] for s in streams}
    mne_xdf = pytest.importorskip("mne_xdf")
    raw = mne_xdf.read_raw_xdf(str(xdf), stream_ids=[ids["PovLab-SimTracker"]])
    assert raw.ch_names[:2] == ["left_x", "left_y"] and raw.n_times > 1000
    markers = [m[0] for s in streams if s["info"]["name"][0] == "PovLab-Markers" for m in s["time_series"]]
    assert list(raw.annotations.description) == markers and "TRIALID 1" in markers
    assert raw.info["meas_date"] is not None

    assert main(["export", str(folder), "--bids", str(tmp_path / "bids")]) == 0
    out = subprocess.run(["bids-validator-deno", "--json", str(tmp_path / "bids")], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    issues = [(i["severity"], i["code"], i.get("subCode"), i.get("location"))
              for i in json.loads(out.stdout)["issues"]["issues"]]
    assert issues == []

    pytest.importorskip("pymovements")
    physio = next((tmp_path / "bids").rglob("*_recording-eye1_physio.tsv.gz"))
    gaze = read_pymovements(physio)
    gaze.pix2deg()
    gaze.pos2vel(method="savitzky_golay", degree=2, window_length=21)  # live gaze is noisy: smooth, as pm advises
    gaze.detect("ivt")
    found = int((gaze.events.frame["name"] == "fixation").sum())
    with gzip.open(physio.with_name(physio.name.replace("_physio.", "_physioevents.")), "rt") as fh:
        ours = sum(1 for line in fh if line.split("\t")[2] == "fixation")
    assert ours > 5 and abs(found - ours) <= 0.3 * ours, (found, ours)  # pymovements' I-VT agrees with ours
