"""Participant-screen tests: a private Xvfb (with GLX) for the whole session, a short protocol.

Skipped, with the reason, when PsychoPy or Xvfb is missing; the Xvfb started here is the only
one stopped here.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from app.core.paths import ASSETS_DIR
from app.core.protocol import Protocol, load_protocol

SCREEN_W, SCREEN_H = 1024, 768


def short_protocol_text(captions: tuple[str, str] = ("A close-up of a cat's face", "A mug of coffee on a saucer"),
                        extra: str = "") -> str:
    img = ASSETS_DIR / "images"
    font = ASSETS_DIR / "fonts" / "DejaVuSans.ttf"
    return textwrap.dedent(f"""\
        schema_version = 1
        name = "short test"
        instructions = "Press Y for yes, N for no, U if unsure."
        {extra}
        [screen]
        width_px = {SCREEN_W}
        height_px = {SCREEN_H}
        width_cm = 34.0
        height_cm = 25.5
        distance_cm = 60.0
        background = "#202020"
        text_color = "#f0f0f0"
        fullscreen = true
        [layout]
        font = "{font}"
        font_size_px = 32
        caption_top_px = 30
        caption_max_width_px = 900
        image_top_px = 150
        image_max_width_px = 800
        image_max_height_px = 560
        [timing]
        fixation_cross_s = 0.2
        max_trial_s = 2.0
        inter_trial_s = 0.1
        [validation]
        targets = 5
        [[practice]]
        id = "p-cat"
        image = "{img / 'chelsea.jpg'}"
        caption = "{captions[0]}"
        expected = "yes"
        aois = [{{ label = "nose", box = [220, 215, 279, 270] }}]
        [[trials]]
        id = "t-coffee"
        image = "{img / 'coffee.jpg'}"
        caption = "{captions[1]}"
        expected = "no"
        """)


@pytest.fixture(scope="session")
def write_protocol(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "short.toml") -> Protocol:
        path = tmp_path_factory.mktemp("protocol") / name
        path.write_text(text, encoding="utf-8")
        return load_protocol(path)
    return write


@pytest.fixture(scope="session")
def short_protocol(write_protocol) -> Protocol:  # type: ignore[no-untyped-def]
    return write_protocol(short_protocol_text())


@pytest.fixture(scope="session")
def xvfb_display() -> str:  # type: ignore[misc]
    if importlib.util.find_spec("psychopy") is None:
        pytest.skip("psychopy is not installed (pip install --no-deps psychopy; see scripts/setup.sh)")
    from app.presentation.xvfb import Xvfb

    if not Xvfb.available():
        pytest.skip("Xvfb is not installed (apt-get install -y xvfb libgl1 libglu1-mesa xauth)")
    server = Xvfb(1280, 1024)
    display = server.start()
    yield display
    server.stop()


class CollectingSink:
    """A MarkerSink that keeps (timestamp, marker) pairs and reads the LSL clock."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str]] = []

    def push(self, marker: str, timestamp: float) -> None:
        self.items.append((timestamp, marker))

    def clock(self) -> float:
        from pylsl import local_clock

        return float(local_clock())


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    return tmp_path / "frames"
