"""The entry point: LSL stays on this machine unless asked, and no traceback reaches the user."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app import cli
from app.core.paths import LSL_CONFIG


@pytest.mark.parametrize(
    ("env", "network", "expected"),
    [
        pytest.param({}, False, str(LSL_CONFIG), id="default-loopback"),
        pytest.param({"LSLAPICFG": "/lab/lsl.cfg"}, False, "/lab/lsl.cfg", id="lab-config-kept"),
        pytest.param({}, True, None, id="opt-in-flag"),
        pytest.param({"POVLAB_LSL_NETWORK": "1"}, False, None, id="opt-in-env"),
    ],
)
def test_lsl_config(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], network: bool, expected: str | None) -> None:
    monkeypatch.delenv("LSLAPICFG", raising=False)
    monkeypatch.delenv("POVLAB_LSL_NETWORK", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cli.configure_lsl(network=network)
    import os

    assert os.environ.get("LSLAPICFG") == expected


def test_repository_config_is_loopback_only() -> None:
    text = LSL_CONFIG.read_text()
    for line in ("IPv6 = disable", "ResolveScope = machine", "ListenAddress = 127.0.0.1"):
        assert line in text


def test_unexpected_error_is_one_line_with_a_log(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("division by zero")

    import app.commands.streams as streams

    monkeypatch.setattr(streams, "run", boom)  # the parser is built at each main() call
    assert cli.main(["streams"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: internal error: ZeroDivisionError")
    log = Path(err[0].rsplit("details in ", 1)[1].rstrip(")"))
    assert "Traceback" in log.read_text()
    log.unlink()
