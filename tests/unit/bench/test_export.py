"""``povlab bench export``: prints its figures as one JSON object on the last line (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def test_bench_export_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "export", "--minutes", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["gaze_samples"] == 12000 and out["verified"] is True
    assert {"export_s", "bundle_s", "export_plus_bundle_s", "export_plus_bundle_cpu_s", "xdf_mb"} <= set(out)


def test_bench_export_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "export", "--minutes", "-1"]) == 2
    assert "must be positive" in capsys.readouterr().err
