"""Gaze-quality warnings (app.core.gaze_quality): all-NaN gaze, broken time stamps, gaze far off the screen."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.gaze_quality import GazeQualityMonitor, QualityWarning

SCREEN = (1920, 1080)
NAN = np.nan


def chunks(mon: GazeQualityMonitor, seconds: float, x: float, y: float, t0: float = 100.0, rate: float = 100.0,
           now0: float = 0.0) -> list[QualityWarning]:
    """Feed ``seconds`` of 10-sample chunks at ``rate`` Hz with constant gaze; wall clock = sample time."""
    out: list[QualityWarning] = []
    n = int(seconds * rate / 10)
    for k in range(n):
        t = t0 + (k * 10 + np.arange(10)) / rate
        out += mon.feed(t, np.full(10, x), np.full(10, y), now0 + (k + 1) * 10 / rate)
    return out


def test_good_gaze_raises_nothing() -> None:
    assert chunks(GazeQualityMonitor(SCREEN), 10.0, 960.0, 540.0) == []


def test_all_nan_for_more_than_a_few_seconds_warns_once_and_rearms() -> None:
    mon = GazeQualityMonitor(SCREEN, nan_s=3.0)
    assert chunks(mon, 2.5, NAN, NAN) == []  # a long blink is not a warning
    got = chunks(mon, 5.0, NAN, NAN, t0=102.5, now0=2.5)
    assert [w.kind for w in got] == ["no_gaze"] and "no valid gaze for 3 s" in got[0].message
    assert got[0].t is not None and got[0].t > 102.5
    assert chunks(mon, 1.0, 960.0, 540.0, t0=108.0, now0=7.5) == []  # gaze is back: the warning re-arms
    again = chunks(mon, 4.0, NAN, NAN, t0=109.0, now0=38.5)  # and raises again once repeat_s has passed
    assert [w.kind for w in again] == ["no_gaze"]


@pytest.mark.parametrize(("t", "words"), [
    pytest.param([1.0, 1.01, NAN, 1.03], "1 NaN/infinite", id="nan"),
    pytest.param([1.0, 1.01, 1.005, 1.02], "1 repeated or backward", id="backwards"),
    pytest.param([1.0, 1.01, 1.01, 1.02], "1 repeated or backward", id="repeated"),
    pytest.param([1.0, NAN, 0.9, np.inf], "2 NaN/infinite and 1 repeated or backward", id="nan-hides-no-step-back"),
])
def test_broken_time_stamps(t: list[float], words: str) -> None:
    got = GazeQualityMonitor(SCREEN).feed(np.array(t), np.full(4, 960.0), np.full(4, 540.0), 0.0)
    assert len(got) == 1 and got[0].kind == "bad_timestamps" and words in got[0].message


@pytest.mark.parametrize(("t", "words"), [
    pytest.param([1.0, 1.01, NAN, 1.03], "1 NaN/infinite", id="nan"),
    pytest.param([1.0, 1.01, 1.005, 1.02], "1 repeated or backward", id="backwards"),
    pytest.param([1.0, 1.01, 1.01, 1.02], "1 repeated or backward", id="repeated"),
    pytest.param([1.0, 1.01, 1.02, np.inf], "1 NaN/infinite", id="inf-last"),
])
def test_broken_time_stamps_in_a_later_chunk(t: list[float], words: str) -> None:
    """After a good chunk (the monitor's fast path for finite, increasing stamps), a broken one still warns."""
    mon = GazeQualityMonitor(SCREEN)
    assert mon.feed(np.array([0.98, 0.99]), np.full(2, 960.0), np.full(2, 540.0), 0.0) == []
    got = mon.feed(np.array(t), np.full(4, 960.0), np.full(4, 540.0), 0.01)
    assert len(got) == 1 and got[0].kind == "bad_timestamps" and words in got[0].message
    assert mon.feed(np.array([1.04, 1.05]), np.full(2, 960.0), np.full(2, 540.0), 0.02) == []


def test_time_stamps_going_back_across_chunks() -> None:
    mon = GazeQualityMonitor(SCREEN)
    assert mon.feed(np.array([5.0, 5.01]), np.zeros(2), np.zeros(2), 0.0) == []
    got = mon.feed(np.array([4.0, 4.01]), np.zeros(2), np.zeros(2), 0.1)
    assert [w.kind for w in got] == ["bad_timestamps"]


def test_gaze_far_outside_the_screen() -> None:
    # normalised positions taken as pixels would sit near (0, 0): that is on the screen; pixels taken as
    # normalised (x 1920) are far outside
    mon = GazeQualityMonitor(SCREEN)
    got = chunks(mon, 3.0, 480.0 * 1920, 270.0 * 1080)
    assert [w.kind for w in got] == ["off_screen"] and "far outside the 1920x1080 px screen" in got[0].message
    assert chunks(GazeQualityMonitor(SCREEN), 3.0, 2100.0, -100.0) == [], "just off the edge is not 'far'"


def test_monitor_checks_its_settings() -> None:
    with pytest.raises(ValueError):
        GazeQualityMonitor((0, 1080))
    with pytest.raises(ValueError):
        GazeQualityMonitor(SCREEN, nan_s=0)
    with pytest.raises(ValueError):
        QualityWarning("mystery", "", None)
