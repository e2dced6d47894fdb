from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import GazeDataError
from app.core.geometry import ScreenGeometry
from app.core.layout import layout_trial
from app.core.protocol import load_protocol
from app.core.synthetic_gaze import (
    BLINK,
    FIXATION,
    PSO,
    SACCADE,
    GazeStream,
    SimParams,
    Target,
    main_sequence,
    plan_scanpath,
    synthesize_gaze,
)

GEO = ScreenGeometry()
CLEAN = SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0)


def _targets(n: int = 8, seed: int = 0, dur: float = 0.4) -> list[Target]:
    rng = np.random.default_rng(seed)
    return [Target(float(rng.uniform(200, 1700)), float(rng.uniform(150, 950)), dur) for _ in range(n)]


def _deg(s):
    return GEO.px_to_deg(s.block.x, s.block.y)


@pytest.mark.parametrize(("rate", "precision"), [
    pytest.param(60, 0.1, id="60Hz-0.1deg"),
    pytest.param(250, 0.05, id="250Hz-0.05deg"),
    pytest.param(1000, 0.02, id="1000Hz-0.02deg"),
    pytest.param(2000, 0.01, id="2000Hz-0.01deg"),
])
def test_fixation_rms_s2s_matches_requested_precision(rate: int, precision: float) -> None:
    params = SimParams(precision_rms_s2s_deg=precision, blink_rate_per_min=0.0, track_loss_prob=0.0)
    s = synthesize_gaze(_targets(10, dur=1.0), rate, GEO, params, np.random.default_rng(3))
    xd, yd = _deg(s)
    d = np.hypot(np.diff(xd), np.diff(yd))
    same = (s.labels[1:] == FIXATION) & (s.labels[:-1] == FIXATION) & (s.target_index[1:] == s.target_index[:-1])
    rms = float(np.sqrt(np.mean(d[same] ** 2)))
    assert rms == pytest.approx(precision, rel=0.15)


def test_saccades_follow_the_main_sequence() -> None:
    rate = 2000
    targets = [Target(960, 540, 0.3)]
    amps = [1.0, 2.5, 5.0, 10.0, 15.0, 20.0]
    for a in amps:  # horizontal steps of growing amplitude, alternating around the centre
        x, _ = GEO.deg_to_px(a / 2 * (1 if len(targets) % 2 else -1), 0.0)
        targets.append(Target(float(x), 540.0, 0.3))
    params = SimParams(precision_rms_s2s_deg=0.002, landing_error_fraction=0.0, drift_deg_per_s=0.0,
                       blink_rate_per_min=0.0, track_loss_prob=0.0)
    s = synthesize_gaze(targets, rate, GEO, params, np.random.default_rng(0))
    xd, yd = _deg(s)
    saccades = [(on, off) for lab, on, off in s.events if lab == SACCADE]
    assert len(saccades) == len(targets) - 1
    for (on, off), k in zip(saccades, range(1, len(targets)), strict=True):
        prev = GEO.px_to_deg(targets[k - 1].x_px, 540)[0]
        cur = GEO.px_to_deg(targets[k].x_px, 540)[0]
        amp = abs(float(cur - prev))
        want_d, want_v = main_sequence(amp)
        assert off - on == pytest.approx(float(want_d), abs=1.5 / rate)
        i = (s.block.t >= on) & (s.block.t < off)
        v = np.hypot(np.diff(xd[i]), np.diff(yd[i])) * rate
        assert float(v.max()) == pytest.approx(float(want_v), rel=0.1)
    _, vpk = main_sequence(np.array(amps))
    assert np.all(np.diff(vpk) > 0) and np.all(np.diff(vpk / np.array(amps)) < 0)  # saturating
    assert 300 < float(main_sequence(10.0)[1]) < 600


def test_labels_line_up_with_targets() -> None:
    targets = _targets(6, seed=4, dur=0.5)
    params = SimParams(accuracy_offset_deg=(0.0, 0.0), blink_rate_per_min=0.0, track_loss_prob=0.0)
    s = synthesize_gaze(targets, 500, GEO, params, np.random.default_rng(1))
    fix = [(on, off) for lab, on, off in s.events if lab == FIXATION]
    assert len(fix) == len(targets)
    for (on, off), tg in zip(fix, targets, strict=True):
        seg = s.block.between(on, off)
        x, y = float(np.mean(seg.x)), float(np.mean(seg.y))
        err = float(GEO.angle_between_px(x, y, tg.x_px, tg.y_px))
        assert err < 1.0  # landing error + drift stay within a degree
        assert off - on == pytest.approx(tg.duration_s - (0.04 if on > 0 else 0.0), abs=0.01)
    # saccade -> PSO -> fixation order after every target change
    kinds = [lab for lab, _, _ in s.events]
    assert kinds == [FIXATION] + [SACCADE, PSO, FIXATION] * (len(targets) - 1)


def test_accuracy_offset_shifts_fixations() -> None:
    tg = [Target(960, 540, 1.0)]
    s = synthesize_gaze(tg, 500, GEO, SimParams(accuracy_offset_deg=(1.0, -0.5), blink_rate_per_min=0),
                        np.random.default_rng(0))
    xd, yd = _deg(s)
    assert np.nanmean(xd) == pytest.approx(1.0, abs=0.1)
    assert np.nanmean(yd) == pytest.approx(-0.5, abs=0.1)


def test_blinks_are_nan_runs_with_label_and_lid_artefact() -> None:
    params = SimParams(blink_rate_per_min=120.0, track_loss_prob=0.0)
    s = synthesize_gaze(_targets(20, dur=1.5), 1000, GEO, params, np.random.default_rng(5))
    blinks = [(on, off) for lab, on, off in s.events if lab == BLINK]
    assert blinks
    for on, off in blinks:
        assert 0.1 + 0.08 - 0.002 <= off - on <= 0.25 + 0.08 + 0.002  # NaN run plus lid artefact
        seg = s.block.between(on, off)
        assert np.isnan(seg.x).sum() >= 0.1 * 1000 - 1
        assert np.isfinite(seg.x[0]) and np.isfinite(seg.x[-1])
    assert np.array_equal(np.isnan(s.block.x), np.isnan(s.block.pupil))
    assert set(np.unique(s.labels[np.isnan(s.block.x)])) == {BLINK}


def test_track_loss_is_short() -> None:
    params = SimParams(blink_rate_per_min=0.0, track_loss_prob=1.0)
    s = synthesize_gaze(_targets(10, dur=0.5), 1000, GEO, params, np.random.default_rng(2))
    losses = [off - on for lab, on, off in s.events if lab == BLINK]
    assert len(losses) == 10 and max(losses) <= 0.061


def test_seeds_are_reproducible() -> None:
    a = synthesize_gaze(_targets(), 1000, GEO, SimParams(), np.random.default_rng(42))
    b = synthesize_gaze(_targets(), 1000, GEO, SimParams(), np.random.default_rng(42))
    c = synthesize_gaze(_targets(), 1000, GEO, SimParams(), np.random.default_rng(43))
    np.testing.assert_array_equal(a.block.x, b.block.x)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(np.nan_to_num(a.block.x), np.nan_to_num(c.block.x))


@pytest.mark.parametrize("rate", [pytest.param(r, id=f"{r}Hz") for r in (60, 120, 300, 500, 1000, 2000)])
def test_rates_produce_regular_time_stamps(rate: int) -> None:
    s = synthesize_gaze(_targets(4), rate, GEO, CLEAN, np.random.default_rng(0), t0=100.0)
    assert s.block.t[0] == 100.0
    np.testing.assert_allclose(np.diff(s.block.t), 1.0 / rate, rtol=1e-6)
    assert len(s.labels) == len(s.block) == len(s.target_index)


def test_stream_chunks_are_continuous_and_follow_new_targets() -> None:
    params = SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0, landing_error_fraction=0.0)
    stream = GazeStream(1000, GEO, params, np.random.default_rng(0), t0=10.0)
    chunks = [stream.read_until(10.0 + k * 0.05) for k in range(1, 21)]
    t = np.concatenate([c.block.t for c in chunks])
    assert len(t) == 1000 and t[0] == 10.0
    np.testing.assert_allclose(np.diff(t), 0.001, rtol=1e-6)
    stream.follow([Target(200, 200, 0.5)])
    later = stream.read_until(12.0)
    assert later.block.t[0] == pytest.approx(11.0)
    seg = later.block.between(11.3, 11.5)
    assert abs(np.nanmean(seg.x) - 200) < 0.5 * GEO.px_per_deg
    assert abs(np.nanmean(seg.y) - 200) < 0.5 * GEO.px_per_deg
    assert len(stream.read_until(11.5).block) == 0


def test_scanpath_reads_words_then_views_objects(demo_protocol_path) -> None:
    protocol = load_protocol(demo_protocol_path)
    trial = protocol.trials[0]
    layout = layout_trial(protocol, trial)
    path = plan_scanpath(layout, np.random.default_rng(0))
    words = layout.word_aois

    def hit(tg: Target, kind: str) -> bool:
        boxes = [a.bbox for a in layout.aois if a.kind == kind]
        if kind == "object" and not boxes:
            boxes = [layout.image_rect]
        return any(x0 - 5 <= tg.x_px <= x1 + 5 and y0 - 5 <= tg.y_px <= y1 + 5 for x0, y0, x1, y1 in boxes)

    n_read = next(i for i, tg in enumerate(path) if not hit(tg, "word"))
    assert n_read >= len(words) // 2
    first_pass = [tg.x_px for tg in path[:n_read]]
    assert sum(np.diff(first_pass) > 0) >= len(first_pass) // 2  # mostly left to right
    assert all(0.12 <= tg.duration_s <= 0.35 for tg in path[:n_read])
    assert hit(path[n_read], "object")
    assert all(hit(tg, "word") or hit(tg, "object") for tg in path)
    short = plan_scanpath(layout, np.random.default_rng(0), max_duration_s=1.0)
    assert sum(tg.duration_s for tg in short) <= 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    pytest.param({"precision_rms_s2s_deg": -1.0}, "precision_rms_s2s_deg", id="negative-precision"),
    pytest.param({"track_loss_prob": 2.0}, "track_loss_prob", id="prob-above-1"),
    pytest.param({"blink_duration_s": (0.3, 0.1)}, "blink_duration_s", id="blink-min-above-max"),
])
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(GazeDataError, match=match):
        SimParams(**kwargs)


def test_bad_rate_and_target_raise() -> None:
    with pytest.raises(GazeDataError, match="rate_hz"):
        synthesize_gaze(_targets(), 0, GEO)
    with pytest.raises(GazeDataError, match="duration_s"):
        Target(1.0, 1.0, 0.0)
