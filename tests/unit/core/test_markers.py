from __future__ import annotations

from pathlib import Path

from app.core.layout import layout_trial
from app.core.markers import parse_marker, response_markers, trial_start_markers
from app.core.protocol import load_protocol


def test_trial_markers_round_trip(demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    trial = p.trials[1]  # coffee: has a polygon AOI
    lay = layout_trial(p, trial)
    parsed = [parse_marker(m) for m in trial_start_markers(3, trial, lay)]
    assert parsed[0].kind == "TRIALID" and parsed[0].args == ("3",)
    vars_ = {m.args[0]: m.args[1] for m in parsed if m.kind == "TRIAL_VAR"}
    assert vars_["caption"] == trial.caption and vars_["trial_id"] == "coffee" and vars_["expected"] == "yes"
    areas = [m for m in parsed if m.kind == "IAREA"]
    assert len(areas) == len(lay.aois)
    assert {m.args[0] for m in areas} == {"RECTANGLE", "FREEHAND"}
    assert areas[0].args[-1] == lay.aois[0].name
    (image,) = [m for m in parsed if m.kind == "IMGLOAD"]
    x0, y0, x1, y1 = lay.image_rect
    assert image.args[:2] == ("TOP_LEFT", "coffee.jpg")
    assert [float(v) for v in image.args[2:]] == [round(x0), round(y0), round(x1 - x0), round(y1 - y0)]


def test_response_markers() -> None:
    ms = [parse_marker(m) for m in response_markers("unclear", 1.2345)]
    assert ms[-1].kind == "TRIAL_RESULT" and ms[-1].args == ("2",)
    assert ms[1].args == ("rt_ms", "1234.5")
    assert parse_marker("TRIAL_RESULT -1").args == ("-1",)
