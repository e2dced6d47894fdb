"""Recover never makes things worse: atomic replace, original kept, live trial rows untouched, re-runnable."""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import pyxdf

import app.runfolder.recover as recover_mod
from app.cli import main
from app.formats.xdf_reader import read_session_xdf
from app.runfolder.recover import recover_session

ROOT = Path(__file__).resolve().parents[3]
STEM = "sub-01_ses-01_task-pov_run-001"


def _crash(folder: Path, keep: float = 0.8, trials_left: int = 1) -> bytes:
    xdf = folder / f"{STEM}.xdf"
    xdf.write_bytes(xdf.read_bytes()[: int(xdf.stat().st_size * keep)])
    meta_path = folder / f"{STEM}_session.json"
    meta = json.loads(meta_path.read_text())
    meta.update(status="recording", ended_utc=None)
    meta_path.write_text(json.dumps(meta))
    trials = folder / f"{STEM}_trials.tsv"
    lines = trials.read_text().splitlines(keepends=True)
    trials.write_text("".join(lines[: 1 + trials_left]))
    return xdf.read_bytes()


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / f"{STEM}_trials.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_live_rows_are_never_replaced(session_dir: Path) -> None:
    _crash(session_dir, keep=0.97, trials_left=1)
    trials = session_dir / f"{STEM}_trials.tsv"
    live = trials.read_text().splitlines()
    cells = live[1].split("\t")
    cells[8], cells[11] = "0.739000", "10"  # what the live pipeline computed (recomputation differs)
    trials.write_text("\n".join([live[0], "\t".join(cells)]) + "\n")
    [rec] = recover_session(session_dir)
    rows = _rows(session_dir)
    assert rows[0]["p_yes"] == "0.739000" and rows[0]["n_fixations"] == "10"
    assert len(rows) >= 2 and [r["number"] for r in rows] == [str(i + 1) for i in range(len(rows))]
    meta = json.loads((session_dir / f"{STEM}_session.json").read_text())
    assert meta["status"] == "recovered" and meta["recovery"]["trial_rows_added"] == [int(r["number"]) for r in rows[1:]]
    assert (session_dir / f"{STEM}_trials.tsv.crashed").is_file()


def test_interrupted_recovery_changes_nothing_and_can_run_again(session_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cut = _crash(session_dir)
    real = recover_mod.write_streams

    def dies_halfway(path: Path, streams: list, **kw) -> None:  # noqa: ANN003
        real(path, streams, **kw)
        path.write_bytes(path.read_bytes()[:1000])
        raise KeyboardInterrupt  # as a kill in the middle of writing

    monkeypatch.setattr(recover_mod, "write_streams", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        recover_session(session_dir)
    assert (session_dir / f"{STEM}.xdf").read_bytes() == cut  # never a half-written XDF
    assert not (session_dir / f"{STEM}.xdf.crashed").exists()  # an error leaves the folder as it was found
    assert not (session_dir / f"{STEM}.xdf.recovering").exists()
    monkeypatch.setattr(recover_mod, "write_streams", real)
    [rec] = recover_session(session_dir)
    assert rec.recovered and read_session_xdf(session_dir / f"{STEM}.xdf").complete
    assert (session_dir / f"{STEM}.xdf.crashed").read_bytes() == cut
    assert not list(session_dir.glob("*.crashed.2"))


def test_kill_9_of_recover_leaves_a_usable_folder(tmp_path: Path) -> None:
    from app.runfolder.synthetic import make_session

    folder = make_session(tmp_path / "data", duration_s=120.0)
    cut = _crash(folder)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for delay in (0.3, 0.9):
        proc = subprocess.Popen([sys.executable, "-m", "app", "recover", str(folder)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        xdf = folder / f"{STEM}.xdf"
        assert xdf.stat().st_size > 0
        assert xdf.read_bytes() == cut or read_session_xdf(xdf).complete
    assert main(["recover", str(folder)]) == 0
    assert read_session_xdf(folder / f"{STEM}.xdf").complete
    assert json.loads((folder / f"{STEM}_session.json").read_text())["status"] == "recovered"
    assert (folder / f"{STEM}.xdf.crashed").read_bytes() == cut


def _chunks(data: bytes) -> list[tuple[int, int, int, int]]:
    p, out = 4, []
    while p < len(data):
        nb = data[p]
        length = int.from_bytes(data[p + 1:p + 1 + nb], "little")
        out.append((p, nb, length, struct.unpack_from("<H", data, p + 1 + nb)[0]))
        p += 1 + nb + length
    return out


def test_a_4_gib_chunk_length_keeps_every_sample_pyxdf_reads(session_dir: Path) -> None:
    xdf = session_dir / f"{STEM}.xdf"
    data = bytearray(xdf.read_bytes())
    samples = [c for c in _chunks(bytes(data)) if c[3] == 3 and c[1] == 4]
    start = samples[len(samples) // 2][0]
    data[start + 1:start + 5] = struct.pack("<I", 0xFFFFFFFF)
    xdf.write_bytes(bytes(data))
    logging.disable(logging.CRITICAL)
    try:
        theirs, _ = pyxdf.load_xdf(str(xdf))
    finally:
        logging.disable(logging.NOTSET)
    [rec] = recover_session(session_dir)
    want = {s["info"]["name"][0]: len(s["time_stamps"]) for s in theirs}
    assert rec.recovered and rec.samples == want


def test_binary_bytes_in_a_marker(session_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xdf = session_dir / f"{STEM}.xdf"
    data = xdf.read_bytes()
    i = data.index(b"TRIALID 2")
    xdf.write_bytes(data[:i] + b"\xff\xfe\x80ALID 2" + data[i + 9:])
    _crash(session_dir, keep=0.9)
    assert main(["recover", str(session_dir)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert read_session_xdf(xdf).complete


def test_the_final_session_json_uses_the_reserve_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a full disk, session.json used to stay 'recording': the final write frees the space set aside."""
    import errno

    import app.runfolder.files as files

    meta = tmp_path / f"{STEM}_session.json"
    files.write_json_atomic(meta, {"status": "recording"})
    files.reserve_space(meta)
    assert files.reserve_path(meta).stat().st_size == files.RESERVE_BYTES
    real, calls = files._write_replace, []

    def full_once(path: Path, data: dict) -> None:
        calls.append(files.reserve_path(meta).exists())
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(files, "_write_replace", full_once)
    with pytest.raises(OSError):
        files.write_json_atomic(meta, {"status": "validation"})  # other writes never touch the reserve
    calls.clear()
    files.write_json_atomic(meta, {"status": "disk_full"}, use_reserve=True)
    assert calls == [True, False] and json.loads(meta.read_text())["status"] == "disk_full"
    files.reserve_space(meta)
    recover_mod.release_reserve(meta)
    assert not files.reserve_path(meta).exists()


def test_a_header_claiming_a_billion_channels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found while hunting: the reader built one label per claimed channel (10**9: a hang, then memory)."""
    from app.formats.xdf_writer import XdfWriter

    path = tmp_path / "bomb.xdf"
    w = XdfWriter(path)
    w.stream_header(1, "<?xml version='1.0'?><info><name>G</name><type>Gaze</type><channel_count>1000000000"
                       "</channel_count><channel_format>float32</channel_format><nominal_srate>100</nominal_srate>"
                       "</info>")
    w.close()
    contents = read_session_xdf(path)
    assert not contents.streams and "channel_count 1000000000" in contents.losses[0]


def test_a_damaged_stamp_far_in_the_future_is_recovered_whole(session_dir: Path) -> None:
    """CI fuzz seed 153: a flipped byte made one stamp huge and recover stepped through the span for ever."""
    from tests.fuzz.harness import time_limit

    _crash(session_dir)
    xdf = session_dir / f"{STEM}.xdf"
    data = bytearray(xdf.read_bytes())
    chunks = [c for c in _chunks(bytes(data)) if c[3] == 3 and c[0] + 1 + c[1] + c[2] <= len(data)]  # whole ones
    mine = {sid: [c for c in chunks if struct.unpack_from("<I", data, c[0] + 3 + c[1])[0] == sid] for sid in (1, 2)}
    pos, nb, _length, _tag = mine[1][len(mine[1]) // 2]  # the middle gaze chunk: its first stamp
    at = pos + 1 + nb + 2 + 4  # past the length, the tag and the stream id: the sample count
    at += 1 + data[at]
    assert data[at] == 8
    struct.pack_into("<d", data, at + 1, 1e300)
    pos, nb, _length, _tag = mine[2][-1]  # the last whole marker chunk: its last stamp ends the stream's span
    at = pos + 1 + nb + 2 + 4
    count = int.from_bytes(data[at + 1:at + 1 + data[at]], "little")
    at += 1 + data[at]
    for i in range(count):  # string samples: stamp byte, stamp, then one length-prefixed string
        assert data[at] == 8
        if i == count - 1:
            struct.pack_into("<d", data, at + 1, 1e12)
        at += 9
        at += 1 + data[at] + int.from_bytes(data[at + 1:at + 1 + data[at]], "little")
    xdf.write_bytes(bytes(data))
    before = read_session_xdf(xdf)
    with time_limit(60):
        [rec] = recover_session(session_dir)
    after = read_session_xdf(xdf)
    assert rec.recovered and after.complete
    for name, s in before.streams.items():
        assert len(after.streams[name]) == len(s), name
        np.testing.assert_array_equal(after.streams[name].time_stamps, s.time_stamps)
    assert 1e300 in after.streams["PovLab-SimTracker"].time_stamps and 1e12 in after.streams["PovLab-Markers"].time_stamps
    meta = json.loads((session_dir / f"{STEM}_session.json").read_text())
    assert meta["status"] == "recovered" and meta["ended_utc"] is None  # no end time made up from a damaged span
    assert any("damaged stamps" in loss for loss in meta["recovery"]["losses"])
