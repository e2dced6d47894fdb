"""``povlab gui`` and ``povlab bench gui``: bad input is one line and exit code 2; the benchmark's JSON."""

from __future__ import annotations

import json

import pytest

from app.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["gui", "--screenshot", "shot.jpg"], "expected a .png file name", id="not-png"),
    pytest.param(["gui", "--screenshot", "shot.png", "--after", "0"], "--after must be a positive", id="after-0"),
    pytest.param(["gui", "--screenshot", "no/such/dir/shot.png"], "does not exist", id="no-folder"),
    pytest.param(["gui", "--duration", "-1"], "--duration must be positive", id="duration"),
    pytest.param(["gui", "--protocol", "missing.toml"], "protocol file not found", id="protocol"),
    pytest.param(["gui", "--review", "missing.xdf"], "recording not found", id="review-missing"),
    pytest.param(["bench", "gui", "--rate", "5"], "bench gui: --rate", id="bench-rate"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: error: ") and message in err[0]


def test_no_display_is_one_line_and_exit_2(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["gui"]) == 2
    assert "no display found" in capsys.readouterr().err


def test_bench_gui_reports_frame_time_and_lag(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "gui", "--json", "--seconds", "1.5", "--rate", "2000"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["rate_hz"] == 2000.0 and out["frames"] > 5 and out["samples_fed"] > 1000
    for key in ("frame_ms_p50", "frame_ms_p99", "lag_ms_p50", "lag_ms_p99"):
        assert out[key] > 0
    assert out["frame_ms_p50"] <= out["frame_ms_p99"]
