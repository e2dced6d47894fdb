"""Headless sessions end to end: simulated tracker over loopback LSL, recorder, live pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from app.acquisition.tracker_spec import LslTrackerConnector, TrackerSpec, parse_tracker_spec
from app.cli import main
from app.core.markers import parse_marker
from app.core.paths import BUNDLED_MODEL
from app.core.protocol import ANSWERS
from app.presentation.headless import HeadlessPresenter
from app.session.runner import Session, SessionConfig
from app.session.updates import (
    FixationMapped,
    PersonalisationUpdated,
    PredictionUpdated,
    ScreenShown,
    SessionEnded,
    TrialFinished,
    ValidationMeasured,
)


def _streams(xdf: Path) -> dict[str, dict]:
    streams, _ = pyxdf.load_xdf(str(xdf))
    return {s["info"]["name"][0]: s for s in streams}


def test_headless_session_records_everything(short_protocol: Path, tmp_path: Path) -> None:
    events: list[object] = []
    model = BUNDLED_MODEL if BUNDLED_MODEL.is_file() else None
    cfg = SessionConfig(short_protocol, "P01", out=tmp_path / "out", model=model)
    session = Session(cfg, HeadlessPresenter(seed=3), listener=events.append,
                      tracker=LslTrackerConnector(TrackerSpec("sim"), seed=3))
    result = session.run()
    assert result.status == "complete"
    assert result.folder == tmp_path / "out" / "sub-P01" / "ses-01"
    assert [o.trial_id for o in result.outcomes] == ["practice-rocket", "astronaut", "coffee"]

    meta = json.loads(result.files.session_json.read_text())
    assert meta["status"] == "complete" and meta["participant"] == "P01" and meta["run"] == 1
    assert meta["tracker"]["kind"] == "sim"
    assert meta["counters"]["received"] > 1000 and meta["counters"]["lost"] == 0
    # the validation targets were shown and the simulated eye looked at them: figures measured live
    assert meta["validation"] is not None and len(meta["validation"]["targets"]) == 9
    assert meta["validation"]["judgement"] in ("GOOD", "FAIR"), meta["validation"]
    assert any(isinstance(e, ValidationMeasured) for e in events)

    # the session itself leaves a scanpath and a heatmap per trial in plots/ (povlab run as the window)
    ended = events[-1]
    assert isinstance(ended, SessionEnded) and ended.plots_note == f"plots in {result.folder / 'plots'}"
    assert [(p.number, p.trial_id) for p in ended.plots] == [(1, "practice-rocket"), (2, "astronaut"), (3, "coffee")]
    pngs = sorted((result.folder / "plots").glob("*.png"))
    assert len(pngs) == 6 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert {p.scanpath for p in ended.plots} | {p.heatmap for p in ended.plots} == set(pngs)
    assert all(p.name.startswith(result.files.stem + "_trial-") for p in pngs)

    rows = result.files.trials_tsv.read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("number\ttrial_id")

    streams = _streams(result.files.xdf)
    assert set(streams) == {"PovLab-SimTracker", "PovLab-Markers", "PovLab-Fixations", "PovLab-Predictions"}
    gaze = streams["PovLab-SimTracker"]
    assert gaze["time_series"].shape[1] == 6 and len(gaze["time_stamps"]) > 1000
    markers = [parse_marker(m[0]) for m in streams["PovLab-Markers"]["time_series"]]
    kinds = [m.kind for m in markers]
    assert kinds[0] == "SESSION_START" and kinds[-1] == "SESSION_END"
    assert kinds[1] == "DISPLAY_COORDS" and markers[1].args == ("0", "0", "1919", "1079")
    assert kinds[2:12] == ["VALIDATION_TARGET"] * 9 + ["VALIDATION_END"]
    assert kinds.count("TRIALID") == 3 and kinds.count("STIM_ONSET") == 3 and kinds.count("TRIAL_RESULT") == 3
    assert "IAREA" in kinds and kinds.count("IMGLOAD") == 3
    mts = streams["PovLab-Markers"]["time_stamps"]
    assert np.all(np.diff(mts) >= 0)
    # gaze covers the markers' time span: one clock domain
    assert gaze["time_stamps"][0] < mts[1] and gaze["time_stamps"][-1] > mts[-2]

    fix = streams["PovLab-Fixations"]["time_series"]
    in_trials = fix[fix[:, 4] > 0]
    assert len(in_trials) >= 3
    assert np.any(in_trials[:, 5] >= 1), "fixations inside trials land on AOIs"
    assert any(isinstance(e, FixationMapped) for e in events)
    screens = [(e.number, e.screen) for e in events if isinstance(e, ScreenShown)]
    assert screens[:10] == [(0, "validation_target")] * 9 + [(0, "blank")]
    assert screens[10:13] == [(1, "fixation_cross"), (1, "stimulus"), (1, "blank")]
    assert screens[-1] == (3, "blank")
    assert sum(isinstance(e, TrialFinished) for e in events) == 3
    assert isinstance(events[-1], SessionEnded)
    if model is not None:
        preds = streams["PovLab-Predictions"]["time_series"]
        assert len(preds) >= 1
        np.testing.assert_allclose(preds[:, 1:4].sum(axis=1), 1.0, atol=1e-5)
        assert any(isinstance(e, PredictionUpdated) for e in events)
        # personalisation is refitted after every answered trial, on all answers so far
        answered = [e.outcome for e in events if isinstance(e, TrialFinished) and e.outcome.response in ANSWERS]
        fits = [e for e in events if isinstance(e, PersonalisationUpdated)]
        assert [f.n_trials for f in fits] == list(range(1, len(answered) + 1)) and fits[-1].participant == "P01"
        assert all(abs(sum(f.bias)) < 1e-9 for f in fits) and any(max(map(abs, f.bias)) > 0 for f in fits)

    # a second run never overwrites the first
    again = Session(SessionConfig(short_protocol, "P01", out=tmp_path / "out", model=None, duration_s=1.0),
                    HeadlessPresenter(seed=1), tracker=LslTrackerConnector(TrackerSpec("sim"))).run()
    assert again.files.xdf.name.endswith("_run-002.xdf") and result.files.xdf.exists()
    assert again.status == "aborted"

    # a recording replayed as the tracker of a new session (tracker replay:FILE)
    replay = LslTrackerConnector(parse_tracker_spec(f"replay:{result.files.xdf}"))
    replayed = Session(SessionConfig(short_protocol, "P09", out=tmp_path / "out", model=None, duration_s=2.0),
                       HeadlessPresenter(seed=1, validation=False), tracker=replay).run()
    rmeta = json.loads(replayed.files.session_json.read_text())
    assert rmeta["tracker"]["name"] == "PovLab-SimTracker" and rmeta["counters"]["received"] > 500
    assert rmeta["tracker"]["kind"] == f"replay:{result.files.xdf}"


def test_cli_run_prints_session_folder_last(short_protocol: Path, tmp_path: Path, capsys) -> None:
    code = main(["run", "--protocol", str(short_protocol), "--participant", "P02", "--out", str(tmp_path),
                 "--headless", "--duration", "2", "--no-model", "--seed", "1"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    folder = Path(out[-1])
    assert folder == tmp_path / "sub-P02" / "ses-01" and any(folder.glob("*.xdf"))
    # the copied protocol stands alone
    from app.core.protocol import load_protocol

    copy = load_protocol(folder / "protocol.toml")
    assert all(t.image.parent == folder / "stimuli" for t in copy.all_trials)


@pytest.mark.slow  # ~15 s: a whole run of the short protocol
def test_povlab_run_leaves_the_plots(short_protocol: Path, tmp_path: Path, capsys) -> None:
    """povlab run writes each trial's scanpath and heatmap into plots/, as a session in the window does."""
    quick = short_protocol.with_name("quick.toml")
    quick.write_text(short_protocol.read_text().replace("targets = 9", "targets = 5"))
    assert main(["run", "--protocol", str(quick), "--participant", "P02", "--out", str(tmp_path),
                 "--headless", "--no-model", "--seed", "1"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    for kind in ("scanpath", "heatmap"):
        assert len(list((folder / "plots").glob(f"*_trial-0[123]_*_{kind}.png"))) == 3, kind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--tracker", "lsl:NoSuchTracker", "--tracker-timeout", "0.5"], "NoSuchTracker", id="no-stream"),
        pytest.param(["--participant", "P 1"], "letters and digits", id="bad-participant"),
        pytest.param(["--tracker", "usb"], "expected sim", id="bad-tracker-kind"),
    ],
)
def test_cli_bad_input_one_line_exit_2(short_protocol: Path, tmp_path: Path, capsys, args, message) -> None:
    base = ["run", "--protocol", str(short_protocol), "--participant", "P03", "--out", str(tmp_path / "o"),
            "--headless", "--no-model"]
    code = main(base + args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("povlab: error:") and message in err[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.xdf")), "nothing half-written"


def test_malformed_protocol_and_missing_stimulus(tmp_path: Path, short_protocol: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(short_protocol.read_text().replace("distance_cm = 60.0", 'distance_cm = "far"'))
    assert main(["run", "--protocol", str(bad), "--participant", "P1", "--out", str(tmp_path / "o"),
                 "--headless", "--no-model"]) == 2
    err = capsys.readouterr().err
    assert "screen.distance_cm: expected a number" in err and str(bad) in err
    missing = tmp_path / "missing.toml"
    missing.write_text(short_protocol.read_text().replace("coffee.jpg", "gone.jpg"))
    assert main(["run", "--protocol", str(missing), "--participant", "P1", "--out", str(tmp_path / "o"),
                 "--headless", "--no-model"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unwritable_output_refuses_to_start(tmp_path: Path, short_protocol: Path, capsys) -> None:
    blocker = tmp_path / "a-file"  # works as root too: a folder cannot be made inside a file
    blocker.write_text("x")
    assert main(["run", "--protocol", str(short_protocol), "--participant", "P1", "--out", str(blocker / "out"),
                 "--headless", "--no-model"]) == 2
    assert "not writable" in capsys.readouterr().err


def test_a_display_that_cannot_be_opened_leaves_nothing_behind(short_protocol: Path, tmp_path: Path, capsys,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["run", "--protocol", str(short_protocol), "--participant", "P6", "--out", str(tmp_path / "o"),
                 "--presenter", "psychopy", "--no-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "display" in err[0]
    assert not (tmp_path / "o").exists(), "nothing written before the session could start"


def test_cli_run_refuses_a_stream_with_the_wrong_channels(short_protocol: Path, tmp_path: Path, source_id: str,
                                                          capsys) -> None:
    import pylsl

    odd = pylsl.StreamOutlet(pylsl.StreamInfo("OddTracker", "Gaze", 3, 250, "float32", source_id))
    try:
        code = main(["run", "--protocol", str(short_protocol), "--participant", "P04", "--out", str(tmp_path / "o"),
                     "--headless", "--no-model", "--tracker", f"lsl-id:{source_id}"])
    finally:
        del odd
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("povlab: error:")
    assert "OddTracker" in err[0] and "channel" in err[0]
    assert not (tmp_path / "o").exists(), "nothing written for a stream that cannot be read"


class _CrashingPresenter:
    """Shows one marker, then fails like a participant screen that died."""

    def run(self, protocol, markers, stop, on_trial):  # type: ignore[no-untyped-def]
        import time

        from app.core.errors import PresentationError

        markers.push("TRIALID 1", markers.clock())
        time.sleep(1.0)
        raise PresentationError("the participant screen stopped (killed by signal 9)")


def test_a_failing_presenter_keeps_the_recording(short_protocol: Path, tmp_path: Path) -> None:
    from app.core.errors import PresentationError

    session = Session(SessionConfig(short_protocol, "P05", out=tmp_path, model=None), _CrashingPresenter(),
                      tracker=LslTrackerConnector(TrackerSpec("sim")))
    with pytest.raises(PresentationError, match="signal 9"):
        session.run()
    folder = tmp_path / "sub-P05" / "ses-01"
    meta = json.loads(next(folder.glob("*_session.json")).read_text())
    assert meta["status"] == "failed" and meta["counters"]["received"] > 100
    streams = _streams(next(folder.glob("*.xdf")))
    assert [m[0] for m in streams["PovLab-Markers"]["time_series"]][:3] == ["SESSION_START POV demo", "DISPLAY_COORDS 0 0 1919 1079", "TRIALID 1"]
    assert len(streams["PovLab-SimTracker"]["time_stamps"]) > 100
    assert streams["PovLab-SimTracker"]["footer"] is not None, "the recording was closed properly"


class _OwnTracker:
    """A TrackerConnector of the test's own: the session gets the stream from it and builds no tracker itself."""

    def __init__(self, source_id: str) -> None:
        self.source_id, self.calls, self.closed = source_id, [], 0

    def connect(self, protocol, markers_source_id):  # type: ignore[no-untyped-def]
        from app.acquisition.discovery import find_gaze_stream

        self.calls.append((protocol.name, markers_source_id))
        stream = find_gaze_stream(source_id=self.source_id, timeout=5.0)
        own = self

        class _Connection:
            spec, channels_mapped = "test:own", False

            @property
            def stream(self):  # type: ignore[no-untyped-def]
                return stream

            def wait_until_ready(self, timeout_s: float) -> None:
                pass

            def close(self) -> None:
                own.closed += 1

        return _Connection()


def test_the_session_reads_the_tracker_it_is_given(short_protocol: Path, tmp_path: Path, source_id: str) -> None:
    from app.acquisition.sim_tracker import SimulatedTracker

    own = _OwnTracker(source_id)
    with SimulatedTracker(rate_hz=250.0, source_id=source_id, seed=2) as sim:
        session = Session(SessionConfig(short_protocol, "P07", out=tmp_path, model=None, duration_s=1.5),
                          HeadlessPresenter(seed=1, validation=False), tracker=own)
        result = session.run()
        session.close()
        assert sim.samples_pushed > 0
    assert own.calls == [("POV demo", session.markers_source_id)] and own.closed >= 1
    meta = json.loads(result.files.session_json.read_text())
    assert meta["tracker"]["kind"] == "test:own" and meta["tracker"]["source_id"] == source_id
    streams = _streams(result.files.xdf)
    assert streams["PovLab-Markers"]["info"]["source_id"][0] == session.markers_source_id
