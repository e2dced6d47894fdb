from __future__ import annotations

import json

import pytest

from app.cli import main


def _figures(capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["bench", "detect", "--json", "--minutes", "0.2", "--compare-minutes", "0.1", *extra]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_bench_detect_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _figures(capsys, "--skip-pymovements")
    assert figures["samples"] == 12000
    for method in ("ivt", "idt", "nh"):
        assert figures[f"{method}_samples_per_s"] > 0
    assert figures["online_ivt_chunk10_cpu_median_us"] > 0
    assert figures["pymovements"].startswith("skipped")


@pytest.mark.slow
def test_bench_detect_compares_with_pymovements(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pymovements")
    figures = _figures(capsys)
    assert figures["ivt_pymovements_samples_per_s"] > 0 and figures["idt_speedup_vs_pymovements"] > 0
    for key in ("ivt_speedup_vs_pymovements_cpu", "ivt_speedup_vs_pymovements_hour",
                "ivt_speedup_vs_pymovements_hour_cpu", "ivt_pymovements_hour_s"):
        assert figures[key] > 0
