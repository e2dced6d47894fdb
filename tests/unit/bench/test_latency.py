"""``povlab bench latency``: the time-stamp bookkeeping (pure) and one short run over loopback LSL."""

from __future__ import annotations

import json
import math

import pytest

from app.bench.latency import _ms, _Times
from app.cli import main


def test_times_finds_the_first_chunk_that_holds_a_sample() -> None:
    times = _Times()
    for last_ts, when in ((1.000, 10.0), (1.010, 10.5), (1.020, 11.0)):
        times.add(last_ts, when)
    assert times.of(1.000) == 10.0
    assert times.of(1.005) == 10.5  # inside the second chunk
    assert times.of(1.010) == 10.5
    assert times.of(1.01005) == 10.5  # within the clock-correction tolerance of its last sample
    assert times.of(1.015) == 11.0
    assert math.isnan(times.of(1.5))  # not pushed yet
    assert times.of(0.5) == 10.0  # before the first chunk's last sample: in the first chunk


def test_ms_summary_skips_unmatched_predictions() -> None:
    assert _ms([0.001, 0.002, float("nan"), 0.003]) == {"n": 3, "p50_ms": 2.0, "p99_ms": 2.98, "max_ms": 3.0}
    assert _ms([float("nan")]) == {"n": 0}


def test_bench_latency_prints_the_three_chains_and_the_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "latency", "--json", "--cpu", "--seconds", "3", "--cpu-seconds", "3",
                 "--tracker-latency-ms", "15"]) == 0
    f = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert f["n_predictions"] > 0 and f["provider"] == "CPUExecutionProvider" and f["detector"] == "nh"
    assert 0 < f["p50_ms"] <= f["p99_ms"] <= f["max_ms"]
    push, stamp = f["push_to_prediction"], f["stamp_to_prediction"]
    assert stamp["n"] == f["n_predictions"] and push["n"] > 0
    # per prediction: stamp <= push (pushed >= 15 ms after its stamp) <= arrival <= prediction
    assert push["p50_ms"] >= f["p50_ms"] - 0.1
    assert stamp["p50_ms"] >= push["p50_ms"] + 15.0 - 0.1
    assert f["samples_lost"] == 0
    cpu = f["cpu"]
    assert cpu["rate_hz"] == 2000.0 and cpu["samples"] > 2000 and cpu["predictions"] > 0
    assert cpu["process_pct_one_core"] >= cpu["acquisition_thread_pct"] > 0 and cpu["pipeline_thread_pct"] > 0


@pytest.mark.slow
def test_bench_latency_inside_a_whole_session(capsys: pytest.CaptureFixture[str]) -> None:
    """The in-session mode runs a real headless session (recorder, outlets, validation) and times its predictions."""
    assert main(["bench", "latency", "--json", "--cpu", "--seconds", "2", "--cpu-seconds", "0",
                 "--session-seconds", "25"]) == 0
    s = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["in_session"]
    assert s["status"] in ("complete", "aborted") and s["samples_lost"] == 0
    assert s["arrival"]["n"] > 0 and s["arrival"]["n"] == s["stamp"]["n"]
    assert 0 < s["arrival"]["p50_ms"] <= s["arrival"]["p99_ms"] and s["stamp"]["p50_ms"] > s["arrival"]["p50_ms"]


@pytest.mark.parametrize("bad", [["--method", "bogus"], ["--seconds", "0"], ["--chunk-ms", "-1"],
                                 ["--session-seconds", "-1"]])
def test_bench_latency_refuses_bad_arguments_in_one_line(capsys: pytest.CaptureFixture[str], bad: list[str]) -> None:
    assert main(["bench", "latency", "--json", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: error: bench latency:")
