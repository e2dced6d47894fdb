"""Numbers on the command line are user input too: inf, nan and out-of-range values are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import expect_clean_error


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--duration", "inf"], "--duration must be above 0", id="duration-inf"),
    pytest.param(["--duration", "1e308"], "--duration must be above 0", id="duration-1e308"),
    pytest.param(["--duration", "nan"], "--duration must be above 0", id="duration-nan"),
    pytest.param(["--tracker-timeout", "inf"], "tracker timeout must be", id="tracker-timeout-inf"),
    pytest.param(["--seed", "-1"], "--seed must be an integer", id="seed-negative"),
    pytest.param(["--seed", "1" + "0" * 30], "--seed must be an integer", id="seed-huge"),
])
def test_run_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_protocol_path: Path,
                       args: list[str], message: str) -> None:
    expect_clean_error(["run", "--protocol", str(demo_protocol_path), "--participant", "X", "--no-model",
                        "--headless", "--out", str(tmp_path / "out"), *args], capsys, message)
    assert not (tmp_path / "out").exists()


def test_a_symlink_loop_as_a_stimulus_or_gaze_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hostile import protocol_text

    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    proto = tmp_path / "p.toml"
    proto.write_text(protocol_text(image="loop1"))
    expect_clean_error(["protocol", "check", str(proto)], capsys, "trials[0].image")
    expect_clean_error(["detect", str(tmp_path / "loop1"), "--events-out", str(tmp_path / "e.tsv")], capsys)
