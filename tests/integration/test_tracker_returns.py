"""The tracker comes back under another outlet (another source_id, another channel layout): the acquisition
follows it by name and host, re-checks the layout and marks the gap; the recorder adds it to the same XDF.
Gaze-quality warnings (all-NaN gaze, broken time stamps) over loopback LSL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyxdf

from app.acquisition.discovery import find_streams
from app.acquisition.inlet import GazeAcquisition
from app.core.gaze_quality import QualityWarning
from app.recording.xdf_recorder import XdfRecorder

pylsl = pytest.importorskip("pylsl")


def gaze_info(name: str, source_id: str, with_pupils: bool) -> Any:
    """An XDF Gaze Meta-Data stream; ``with_pupils`` adds two Diameter channels (another layout)."""
    n = 6 if with_pupils else 4
    info = pylsl.StreamInfo(name, "Gaze", n, 200, "float32", source_id)
    chans = info.desc().append_child("channels")
    for label, eye, kind in (("lx", "left", "ScreenX"), ("ly", "left", "ScreenY"), ("rx", "right", "ScreenX"),
                             ("ry", "right", "ScreenY"), ("lp", "left", "Diameter"), ("rp", "right", "Diameter"))[:n]:
        chans.append_child("channel").append_child_value("label", label).append_child_value("eye", eye) \
            .append_child_value("type", kind).append_child_value("unit", "pixels" if "Screen" in kind else "mm")
    return info


class Pusher:
    def __init__(self, info: Any, x: float, nan_t: bool = False) -> None:
        self.outlet, self.x, self.nan_t, self.n = pylsl.StreamOutlet(info), x, nan_t, info.channel_count()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            self.outlet.push_sample([self.x, 300.0, self.x, 300.0, 3.0, 3.0][:self.n], pylsl.local_clock())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2.0)
        del self.outlet


def wait_for(what: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not what() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("second_id", ["b", "a"], ids=["another-source-id", "same-source-id-other-layout"])
def test_tracker_back_with_another_source_id_and_layout_is_followed_and_recorded(tmp_path: Path, second_id: str) -> None:
    name = f"LabTracker-{uuid.uuid4().hex[:8]}"
    first = Pusher(gaze_info(name, f"{name}-a", with_pupils=False), 100.0)
    changes: list[tuple[Any, Any, str | None]] = []
    gaps: list[tuple[float, float]] = []
    stream = find_streams(source_id=f"{name}-a", timeout=5.0)[0]
    recorder = XdfRecorder(tmp_path / "r.xdf", [stream.resolved])
    recorder.start()

    def changed(old: Any, new: Any, problem: str | None) -> None:
        changes.append((old, new, problem))
        recorder.switch_stream(old.uid, new.resolved)

    acq = GazeAcquisition(stream, on_stream_changed=changed, on_gap=lambda a, b: gaps.append((a, b)))
    acq.start()
    second = None
    try:
        wait_for(lambda: acq.counters.received > 100)
        first.close()  # the app is closed ...
        time.sleep(1.0)
        second = Pusher(gaze_info(name, f"{name}-{second_id}", with_pupils=True), 200.0)  # ... and started again
        wait_for(lambda: bool(gaps) and acq.buffer.snapshot().x[-1] == 200.0)
    finally:
        acq.stop()
        if second is not None:
            second.close()
        recorder.stop()
    assert len(changes) == 1 and changes[0][2] is None
    old, new, _ = changes[0]
    assert (old.source_id, new.source_id, new.n_channels) == (f"{name}-a", f"{name}-{second_id}", 6)
    assert acq.channel_map.n_channels == 6 and acq.channel_map.left_pupil == 4, "the layout was checked again"
    assert len(gaps) == 1 and gaps[0][1] - gaps[0][0] > 0.9
    block = acq.buffer.snapshot()
    assert set(np.unique(block.x[np.isfinite(block.x)])) == {100.0, 200.0}
    loaded = sorted(pyxdf.load_xdf(str(tmp_path / "r.xdf"))[0], key=lambda s: int(s["info"]["stream_id"]))
    assert [s["info"]["source_id"][0] for s in loaded] == [f"{name}-a", f"{name}-{second_id}"], "both in one file"
    before, after = loaded
    assert before["time_series"].shape[1] == 4 and set(before["time_series"][:, 0]) == {100.0}
    assert after["time_series"].shape[1] == 6 and len(after["time_stamps"]) > 10 and set(after["time_series"][:, 0]) == {200.0}
    assert before["time_stamps"][-1] < after["time_stamps"][0]


def test_a_returning_stream_that_is_not_gaze_is_reported_and_not_used(source_id: str) -> None:
    name = f"LabTracker-{uuid.uuid4().hex[:8]}"
    first = Pusher(gaze_info(name, f"{name}-a", with_pupils=False), 100.0)
    changes: list[tuple[Any, Any, str | None]] = []
    acq = GazeAcquisition(find_streams(source_id=f"{name}-a", timeout=5.0)[0],
                          on_stream_changed=lambda o, n, p: changes.append((o, n, p)))
    acq.start()
    bad = None
    try:
        wait_for(lambda: acq.counters.received > 50)
        first.close()
        eeg = pylsl.StreamInfo(name, "Gaze", 3, 200, "float32", f"{name}-eeg")  # same name, no gaze channels
        bad = pylsl.StreamOutlet(eeg)
        wait_for(lambda: bool(changes))
    finally:
        acq.stop()
        del bad
    assert len(changes) == 1 and "no ScreenX/ScreenY channels" in (changes[0][2] or "")
    assert acq.stream.source_id == f"{name}-a" and acq.channel_map.n_channels == 4


def test_all_nan_gaze_and_backward_time_stamps_raise_warnings(source_id: str) -> None:
    info = gaze_info("NaNTracker", source_id, with_pupils=False)
    outlet = pylsl.StreamOutlet(info)
    warnings: list[QualityWarning] = []
    acq = GazeAcquisition(find_streams(source_id=source_id, timeout=5.0)[0], on_warning=warnings.append)
    acq.quality.nan_s = 1.0
    acq.start()
    try:
        t0, k = pylsl.local_clock(), 0
        deadline = time.monotonic() + 30.0
        # all-NaN gaze (a tracker that lost the eyes, or a wrong mapping) until the warning comes
        while not any(w.kind == "no_gaze" for w in warnings) and time.monotonic() < deadline:
            outlet.push_sample([np.nan] * 4, t0 + k * 0.005)
            k += 1
            time.sleep(0.005)
        assert acq.counters.received > 0 and acq.counters.invalid == acq.counters.received
        outlet.push_chunk([[10.0, 10.0, 10.0, 10.0]] * 3, [t0 + 10.0, t0 + 9.0, t0 + 9.0])
        wait_for(lambda: any(w.kind == "bad_timestamps" for w in warnings))
    finally:
        acq.stop()
        del outlet
    kinds = [w.kind for w in warnings]
    assert kinds.count("no_gaze") == 1 and kinds.count("bad_timestamps") == 1
    assert acq.quality_warnings == warnings


def test_a_session_on_nan_gaze_warns_on_the_command_line_and_in_session_json(
        short_protocol: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main
    from tests.fixtures import vendor_streams as vs

    info = vs.tobii_pro_info()
    with vs.Publisher(info, lambda k: vs.tobii_pro_sample(0.25, 0.25, valid=False)):  # the eyes are never found
        code = main(["run", "--protocol", str(short_protocol), "--participant", "P04", "--out", str(tmp_path),
                     "--tracker", f"lsl-id:{info.source_id()}", "--headless", "--duration", "5", "--no-model"])
    err = capsys.readouterr().err
    assert code == 0, err
    line = next(ln for ln in err.splitlines() if "no valid gaze" in ln)
    assert line.startswith("warning: no valid gaze for 3 s: every sample is NaN")
    meta = json.loads(next(tmp_path.glob("sub-P04/ses-01/*_session.json")).read_text())
    assert [w["kind"] for w in meta["quality_warnings"]] == ["no_gaze"]
    assert meta["quality_warnings"][0]["t"] > 0 and any("no valid gaze" in w for w in meta["warnings"])


def test_an_outlet_gone_before_its_first_sample_is_a_gap_not_a_dead_worker() -> None:
    """liblsl reports a timeout, not a loss, when the outlet vanished before any sample reached the inlet;
    the acquisition keeps going, marks the gap from its opening and follows the tracker when it comes back."""
    name = f"LabTracker-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(gaze_info(name, f"{name}-a", with_pupils=False))
    stream = find_streams(source_id=f"{name}-a", timeout=5.0)[0]
    starts: list[float] = []
    gaps: list[tuple[float, float]] = []
    acq = GazeAcquisition(stream, on_gap_start=starts.append, on_gap=lambda a, b: gaps.append((a, b)))
    acq.start()
    back = None
    try:
        time.sleep(0.3)
        del outlet  # gone before it ever sent a sample
        wait_for(lambda: acq.counters.stalled, timeout=30.0)
        assert acq.counters.stalled and len(starts) == 1 and acq.counters.error is None
        back = Pusher(gaze_info(name, f"{name}-b", with_pupils=False), 420.0)  # the app restarted
        wait_for(lambda: acq.counters.received > 50, timeout=30.0)
        assert acq.counters.error is None and acq.counters.running and not acq.counters.stalled
        assert len(gaps) == 1 and gaps[0][0] == starts[0] and gaps[0][1] > gaps[0][0]
        assert acq.stream.source_id == f"{name}-b"
    finally:
        acq.stop()
        if back is not None:
            back.close()
