"""A whole Session on fake parts (no LSL, no XDF, no ONNX; files only under tmp_path): start, trials through the
headless presenter, stop. What reached the outlets and the recorder, the order parts start and stop in, and the
run folder it leaves (session.json, trials.tsv) are checked, so a broken wiring of any part fails here."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.errors import RecordingError
from app.core.markers import parse_marker
from app.core.ports import TrackerConnector
from app.core.protocol import Protocol, load_protocol
from app.core.run_metadata import SessionStatus
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS
from app.presentation.headless import HeadlessPresenter
from app.runfolder.files import reserve_path
from app.session.runner import Session, SessionConfig
from app.session.updates import PersonalisationUpdated, SessionEnded, SessionEvent, SessionStarted, TrialFinished
from tests.unit.session.fakes import PROBS, RATE, FakeConnector, FakeStream, Rig


@pytest.fixture
def protocol(demo_protocol_path: Path) -> Protocol:
    return load_protocol(demo_protocol_path)


def make(demo_protocol_path: Path, protocol: Protocol, tmp_path: Path, rig: Rig, **config: Any
         ) -> tuple[Session, FakeConnector, list[SessionEvent]]:
    model = tmp_path / "fake.onnx"
    model.write_bytes(b"not a real model: the fake loader never opens it")
    cfg = SessionConfig(demo_protocol_path, "P03", out=tmp_path / "out", model=model, plots=False,
                        channels="x=0,y=1", **config)
    connector = FakeConnector(rig.stream)
    events: list[SessionEvent] = []
    # the fakes satisfy the ports (`mypy tests/unit/session/test_session_fake_parts.py` checks them)
    port: TrackerConnector = connector
    session = Session(cfg, HeadlessPresenter(seed=5, time_scale=0.01, validation=False), events.append,
                      tracker=port, parts=rig.parts())
    return session, connector, events


def test_a_whole_session_runs_on_fake_parts(demo_protocol_path: Path, protocol: Protocol, tmp_path: Path) -> None:
    rig = Rig(protocol)
    session, connector, events = make(demo_protocol_path, protocol, tmp_path, rig)
    result = session.run()
    n = len(protocol.all_trials)
    assert n >= 3 and rig.missed == []
    assert result.status is SessionStatus.COMPLETE and len(result.outcomes) == n
    assert result.folder == tmp_path / "out" / "sub-P03" / "ses-01"

    # the parts were built from the session's inputs, started before the first marker and stopped in order
    conn = connector.connection
    assert conn is not None and conn.markers_source_id == session.markers_source_id
    assert conn.ready == [5.0] and conn.closed >= 1
    acq = rig.acquisition
    assert acq is not None and acq.stream is rig.stream
    assert (acq.screen_px, acq.mapping) == ((protocol.screen.width_px, protocol.screen.height_px), "x=0,y=1")
    assert rig.detectors == [(protocol.screen, RATE, "nh")]
    assert rig.log[:2] == ["load model fake.onnx", "open acquisition"]
    assert rig.log[2:7] == [f"open {MARKERS.name}", f"open {FIXATIONS.name}", f"open {PREDICTIONS.name}",
                            "open recorder", "start recorder"]
    assert rig.log[7:] == ["start acquisition", "stop acquisition", "stop recorder", f"close {MARKERS.name}",
                           f"close {FIXATIONS.name}", f"close {PREDICTIONS.name}"]
    rec = rig.recorder
    assert rec is not None and rec.path == result.files.xdf and rec.tracker_stream is rig.stream
    sid = session.markers_source_id.removesuffix("-markers")
    assert rec.own == (session.markers_source_id, f"{sid}-fixations", f"{sid}-predictions")
    assert rec.own == tuple(rig.outlets[s.name].source_id for s in (MARKERS, FIXATIONS, PREDICTIONS))
    assert rec.timeout_s == 5.0

    # the markers outlet: the whole run, stamped by the parts' clock, in order
    markers = [(parse_marker(str(v)), t) for v, t in rig.outlets[MARKERS.name].samples]
    kinds = [m.kind for m, _ in markers]
    assert kinds[:2] == ["SESSION_START", "DISPLAY_COORDS"] and kinds[-1] == "SESSION_END"
    assert kinds.count("TRIALID") == n and kinds.count("STIM_ONSET") == n and kinds.count("TRIAL_RESULT") == n
    stamps = [t for _, t in markers]
    assert all(t is not None for t in stamps) and np.all(np.diff(np.array(stamps, dtype=float)) >= 0)
    # one fixation per stimulus on its first AOI (1-based on the stream), one prediction each
    fixations = [s for s, _ in rig.outlets[FIXATIONS.name].samples]
    assert [(int(f[4]), int(f[5])) for f in fixations] == [(k, 1) for k in range(1, n + 1)]
    assert [s for s, _ in rig.outlets[PREDICTIONS.name].samples] == [
        pytest.approx([float(k), *PROBS, 1.0]) for k in range(1, n + 1)]
    assert [u[0] for u in rig.model.updates] == [t.trial_id for t in protocol.all_trials]
    assert all(u[1] == "P03" and u[2][0][0] == 0 for u in rig.model.updates)

    # the run folder: session.json's final record and the trials table
    meta = json.loads(result.files.session_json.read_text())
    answered_main = [o for o in result.outcomes if not o.practice and o.response in ("yes", "no", "unclear")]
    agreement = sum(o.response == "yes" for o in answered_main) / len(answered_main)
    assert meta["status"] == "complete" and meta["n_trials_done"] == n and meta["n_fixations"] == n
    assert meta["agreement"] == pytest.approx(agreement)
    assert meta["counters"] == {"received": rig.buffer.total_written, "lost": 2, "invalid": 1, "gaps": 0}
    assert meta["recorder"]["error"] is None
    assert meta["recorder"]["samples"] == {s.name: s.count for s in rec.stats}
    assert meta["recorder"]["samples"][MARKERS.name] == len(markers)
    assert meta["tracker"]["kind"] == "fake:tracker" and meta["tracker"]["name"] == "Fake-Tracker"
    assert meta["tracker"]["channel_map"] == {"source": "fake", "channels": [0, 1]}
    assert meta["model"]["provider"] == "FakeExecutionProvider" and meta["ended_utc"] is not None
    assert not reserve_path(result.files.session_json).exists()  # the final write freed it
    with result.files.trials_tsv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [r["trial_id"] for r in rows] == [t.trial_id for t in protocol.all_trials]
    assert all(float(r["p_yes"]) == pytest.approx(PROBS[0]) and r["n_fixations"] == "1" for r in rows)

    # what the listeners heard
    assert isinstance(events[0], SessionStarted) and events[0].provider == "FakeExecutionProvider"
    assert events[0].tracker == "Fake-Tracker" and events[0].n_trials == n
    finished = [e for e in events if isinstance(e, TrialFinished)]
    assert [e.outcome.number for e in finished] == list(range(1, n + 1)) and {e.predicted for e in finished} == {"yes"}
    answered = [o for o in result.outcomes if o.response in ("yes", "no", "unclear")]
    assert rig.model.personalised == list(range(1, len(answered) + 1))
    assert sum(isinstance(e, PersonalisationUpdated) for e in events) == len(answered)
    ended = events[-1]
    assert isinstance(ended, SessionEnded) and ended.status is SessionStatus.COMPLETE
    assert ended.meta.n_trials_done == n


def test_a_full_disk_stops_the_session_and_says_so(demo_protocol_path: Path, protocol: Protocol,
                                                   tmp_path: Path) -> None:
    rig = Rig(protocol, disk_full_at="TRIALID 2")
    session, _, events = make(demo_protocol_path, protocol, tmp_path, rig)
    with pytest.raises(RecordingError, match="no space left on device; session folder: .*sub-P03"):
        session.run()
    meta = json.loads(next((tmp_path / "out").rglob("*_session.json")).read_text())
    assert meta["status"] == "disk_full" and meta["n_trials_done"] == 1
    assert meta["recorder"]["error"] == "no space left on device"
    assert "no space left on device" in meta["warnings"]
    assert rig.log[-6:] == ["start acquisition", "stop acquisition", "stop recorder", f"close {MARKERS.name}",
                            f"close {FIXATIONS.name}", f"close {PREDICTIONS.name}"]
    ended = events[-1]
    assert isinstance(ended, SessionEnded) and ended.status is SessionStatus.DISK_FULL


def test_a_part_that_fails_to_stop_leaves_the_others_stopped(demo_protocol_path: Path, protocol: Protocol,
                                                             tmp_path: Path) -> None:
    # and a tracker without a nominal rate: the detector runs at the rate its time stamps show
    rig = Rig(protocol, stream=FakeStream(rate_hz=0.0), fail_stop="acquisition", measured_rate=250.0)
    session, connector, events = make(demo_protocol_path, protocol, tmp_path, rig, duration_s=0.05)
    with pytest.raises(OSError, match="the inlet would not close"):
        session.run()
    assert rig.detectors == [(protocol.screen, 250.0, "nh")]
    assert rig.log[-5:] == ["stop acquisition", "stop recorder", f"close {MARKERS.name}", f"close {FIXATIONS.name}",
                            f"close {PREDICTIONS.name}"]
    assert connector.connection is not None and connector.connection.closed >= 1
    meta = json.loads(next((tmp_path / "out").rglob("*_session.json")).read_text())
    assert meta["status"] == "aborted" and meta["n_trials_done"] < len(protocol.all_trials)
    assert any("publishes no nominal rate" in w and "250 Hz" in w for w in meta["warnings"])
    assert not any(isinstance(e, SessionEnded) for e in events)  # a failed stop is raised, not reported as ended


@pytest.mark.parametrize(("fail", "error", "opened"), [
    pytest.param("fixations outlet", OSError, [MARKERS.name], id="an-outlet"),
    pytest.param("recorder", RecordingError, [MARKERS.name, FIXATIONS.name, PREDICTIONS.name], id="the-recorder"),
    pytest.param("acquisition", OSError, [MARKERS.name, FIXATIONS.name, PREDICTIONS.name], id="the-acquisition"),
])
def test_a_start_that_fails_half_way_closes_what_it_opened(demo_protocol_path: Path, protocol: Protocol,
                                                           tmp_path: Path, fail: str, error: type,
                                                           opened: list[str]) -> None:
    rig = Rig(protocol, fail_start=fail)
    session, connector, events = make(demo_protocol_path, protocol, tmp_path, rig)
    with pytest.raises(error, match="fake"):
        session.run()
    outlets = [rig.outlets[name] for name in opened]
    assert all(o.closed for o in outlets), rig.log
    assert [e for e in rig.log if e.startswith("close")] == [f"close {name}" for name in reversed(opened)]
    if fail == "acquisition":  # the recorder had started: it is stopped, and session.json says the run failed
        assert rig.log.index("stop recorder") < rig.log.index(f"close {PREDICTIONS.name}")
        meta = json.loads(next((tmp_path / "out").rglob("*_session.json")).read_text())
        assert meta["status"] == "failed" and meta["ended_utc"]
    else:
        assert "stop recorder" not in rig.log
    assert not any(isinstance(e, SessionStarted) for e in events)
