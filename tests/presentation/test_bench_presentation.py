from __future__ import annotations

import json
import math

import pytest

from app.cli import main


@pytest.mark.xvfb
@pytest.mark.slow  # ~13 s: a whole short protocol through a real LSL outlet and inlet
def test_bench_presentation_prints_one_json_object(xvfb_display, short_protocol, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DISPLAY", xvfb_display)
    assert main(["bench", "presentation", "--json", "--trials", "1", "--protocol", str(short_protocol.path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["trials"] == 2  # the practice trial and one main trial
    assert result["markers"] > 2 * 8 and result["flips"] >= 2 * 3 + 5 + 1
    for key in ("stamp_vs_flip_ms_mean", "stamp_vs_flip_ms_p99", "stamp_vs_flip_ms_max",
                "flip_to_outlet_ms_mean", "flip_to_outlet_ms_p99", "flip_to_outlet_ms_max"):
        assert math.isfinite(result[key]) and result[key] >= 0, key
    assert result["stamp_vs_flip_ms_mean"] <= result["stamp_vs_flip_ms_max"]


def test_bench_presentation_rejects_a_bad_trial_count(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "presentation", "--trials", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("povlab: error:") and "--trials" in err and "\n" not in err
