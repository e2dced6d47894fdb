"""``povlab bench protocol-check``: one JSON object on the last line (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def test_bench_protocol_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "protocol-check", "--trials", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["trials"] == 3 and out["image_px"] == [1920, 1080]
    assert out["protocol_check_s"] > 0 and out["protocol_new_s"] > 0
