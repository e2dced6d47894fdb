"""End to end from the operator window: it starts the PsychoPy participant screen (under a private Xvfb).

The window runs offscreen in this process, exactly as an operator's would, with the real backend
(``app.commands.gui.backend``); the participant screen is PsychoPy in its own process on the Xvfb.
A participant presses Y (xdotool into the Xvfb) whenever the window shows that the stimulus is on
the participant screen, so the test follows the real flips rather than the clock. A second test gives the window a protocol that does not
match the screen: the operator sees the command line's words on the set-up page, and nothing is written.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import pyxdf

from app.commands.gui import backend
from app.core.markers import parse_marker
from app.gui.backend import SetupChoice
from app.gui.main_window import MainWindow
from app.presentation.xvfb import Xvfb
from tests.presentation.conftest import SCREEN_H, SCREEN_W, short_protocol_text

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("psychopy") is None:
        pytest.skip("psychopy is not installed (pip install --no-deps psychopy; see scripts/setup.sh)")
    if not Xvfb.available():
        pytest.skip("Xvfb is not installed (apt-get install -y xvfb libgl1 libglu1-mesa xauth)")
    with Xvfb(SCREEN_W, SCREEN_H) as display:
        monkeypatch.setenv("DISPLAY", display)  # the participant screen's display; the window stays offscreen
        yield display


def _window(qtbot, protocol: Path, out: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    w = MainWindow(backend(), [protocol], out, None, frame_ms=20)
    qtbot.addWidget(w)
    w.show()
    return w


def test_the_window_runs_the_participant_screen(screen: str, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt-get install -y xdotool)")
    protocol = tmp_path / "short.toml"
    # no instructions and no practice block: both screens wait for a key before they go on
    text = short_protocol_text().replace('instructions = "Press Y for yes, N for no, U if unsure."', "")
    head, tail = text.split("[[practice]]")
    main = tail.split("[[trials]]")[1]
    protocol.write_text(head + "[[trials]]" + main.replace('"t-coffee"', '"t-one"') + "[[trials]]" + main,
                        encoding="utf-8")
    w = _window(qtbot, protocol, tmp_path / "out")
    pressed: set[int] = set()

    def participant(topic: str) -> None:  # GUI thread: the operator view follows the participant screen's flips
        trial = w.model.current
        if topic == "screen" and w.model.screen == "stimulus" and trial is not None and trial not in pressed:
            pressed.add(trial)
            env = dict(os.environ, DISPLAY=screen)
            threading.Thread(target=subprocess.run, args=(["xdotool", "key", "y"],),
                             kwargs={"env": env, "timeout": 10}, daemon=True).start()

    w.model.subscribe(participant)
    w.start(SetupChoice(protocol, "P01", out=tmp_path / "out", presenter="psychopy", model=None, seed=2))
    qtbot.waitUntil(lambda: w.controller.page == "run", timeout=10_000)
    qtbot.waitUntil(lambda: w.controller.page == "end", timeout=180_000)
    assert w.model.failure is None and w.model.refused is None, (w.model.failure, w.model.refused)
    assert w.model.status == "complete" and w.model.n_trials == 2
    assert not w.end_page.error.isVisibleTo(w.end_page)
    (xdf,) = (tmp_path / "out" / "sub-P01" / "ses-01").glob("*.xdf")
    streams, _ = pyxdf.load_xdf(str(xdf))
    markers = next(s for s in streams if s["info"]["name"][0] == "PovLab-Markers")
    kinds = [parse_marker(m[0]).kind for m in markers["time_series"]]
    assert kinds.count("STIM_ONSET") == 2 and kinds.count("VALIDATION_TARGET") == 5
    responses = [parse_marker(m[0]).args[1] for m in markers["time_series"]
                 if parse_marker(m[0]).kind == "TRIAL_VAR" and parse_marker(m[0]).args[0] == "response"]
    assert responses == ["yes", "yes"]  # the key presses reached the participant screen
    assert pressed == {1, 2}


def test_a_screen_that_does_not_match_the_protocol_is_shown_on_the_setup_page(screen: str, qtbot,
                                                                               tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    protocol = tmp_path / "big.toml"
    text = short_protocol_text().replace(f"width_px = {SCREEN_W}", "width_px = 1920").replace(
        f"height_px = {SCREEN_H}", "height_px = 1080")
    protocol.write_text(text, encoding="utf-8")
    w = _window(qtbot, protocol, tmp_path / "out")
    w.start(SetupChoice(protocol, "P01", out=tmp_path / "out", presenter="psychopy", model=None))
    qtbot.waitUntil(lambda: w.model.refused is not None, timeout=120_000)
    assert w.stack.currentWidget() is w.setup_page and w.model.status == "not started"
    message = w.setup_page.error.text()
    assert message.startswith("not started: ") and f"is {SCREEN_W}x{SCREEN_H} px but the protocol" in message
    assert "1920x1080" in message
    assert not (tmp_path / "out" / "sub-P01").exists()  # nothing was written for a session that never started
