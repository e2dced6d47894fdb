"""The simulated tracker follows the session's markers (offline form, no LSL)."""

from __future__ import annotations

import numpy as np
import pytest

from app.acquisition.sim_tracker import SimulatedTracker
from app.core.errors import TrackerError
from app.core.layout import layout_trial
from app.core.markers import trial_start_markers
from app.core.protocol import load_protocol
from app.core.synthetic_gaze import SimParams


def test_gaze_follows_fixation_cross_caption_image_and_back(demo_protocol_path) -> None:
    protocol = load_protocol(demo_protocol_path)
    trial = protocol.all_trials[1]
    layout = layout_trial(protocol, trial)
    markers = [(1.0, m) for m in trial_start_markers(2, trial, layout)]
    markers += [(1.0, "FIXCROSS_ONSET"), (2.0, "STIM_ONSET"), (9.0, "STIM_OFFSET")]
    sim = SimulatedTracker(500, params=SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0), protocol=protocol,
                           seed=7)
    g = sim.simulate(markers, t0=0.0, t_end=10.0)
    b = g.block
    assert len(b) == 5000 and b.t[0] == 0.0
    ppd = protocol.screen.px_per_deg

    def frac_in(t0: float, t1: float, box: tuple[float, float, float, float], pad: float = ppd) -> float:
        s = b.between(t0, t1)
        x0, y0, x1, y1 = box
        return float(np.mean((s.x > x0 - pad) & (s.x < x1 + pad) & (s.y > y0 - pad) & (s.y < y1 + pad)))

    words = layout.word_aois
    caption = (min(a.bbox[0] for a in words), min(a.bbox[1] for a in words),
               max(a.bbox[2] for a in words), max(a.bbox[3] for a in words))
    centre = (960.0, 540.0, 960.0, 540.0)
    assert frac_in(1.3, 2.0, centre, 2 * ppd) > 0.9  # fixation cross
    assert frac_in(2.1, 2.8, caption) > 0.9  # reading first
    assert frac_in(6.0, 9.0, layout.image_rect, 0.0) > 0.8  # then the image, until the offset
    assert frac_in(9.3, 10.0, centre, 2 * ppd) > 0.9  # back to the centre between trials
    # the first word is fixated before the last long one (short words may be skipped)
    first, last = words[0].bbox, [a for a in words if len(a.text) > 3][-1].bbox
    s = b.between(2.0, 5.0)
    on_first = np.flatnonzero((s.x > first[0] - 5) & (s.x < first[2] + 5) & (s.y < first[3] + 5))
    on_last = np.flatnonzero((s.x > last[0] - 5) & (s.x < last[2] + 5) & (s.y < last[3] + 5))
    assert len(on_first) and len(on_last) and on_first[0] < on_last[0]


def test_rate_outside_range_is_refused() -> None:
    with pytest.raises(TrackerError, match="60..2000 Hz"):
        SimulatedTracker(5000)


def test_stim_onset_without_trialid_is_the_next_trial(demo_protocol_path) -> None:
    protocol = load_protocol(demo_protocol_path)
    layout = layout_trial(protocol, protocol.all_trials[0])
    sim = SimulatedTracker(250, params=SimParams(blink_rate_per_min=0.0, track_loss_prob=0.0), protocol=protocol,
                           seed=2)
    g = sim.simulate([(1.0, "STIM_ONSET")], t0=0.0, t_end=2.0)  # subscribed after TRIALID 1
    s = g.block.between(1.2, 1.6)
    y1 = max(a.bbox[3] for a in layout.word_aois)
    assert np.mean(s.y < y1 + protocol.screen.px_per_deg) > 0.9  # reading trial 1's caption
