"""Bad input stops the session before it starts, with one clear line."""

from __future__ import annotations

import pytest

from app.core.errors import PresentationError, ProtocolError
from app.core.paths import ASSETS_DIR
from app.core.protocol import load_protocol
from app.presentation.preflight import preflight
from app.presentation.presenter import PsychoPyPresenter
from tests.presentation.conftest import short_protocol_text


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


def test_an_image_that_cannot_be_decoded(write_protocol, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = (ASSETS_DIR / "images" / "coffee.jpg").read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(good[: len(good) // 3])  # the header (and size) survive, the pixels do not
    text = short_protocol_text().replace(str(ASSETS_DIR / "images" / "coffee.jpg"), str(broken))
    with pytest.raises(ProtocolError, match=r"image: .*truncated JPEG"):
        write_protocol(text, "broken.toml")  # the loader checks the whole file now (issue 15)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    protocol = load_protocol(path, whole_images=False)  # header only: the presenter's own check still stops it
    with pytest.raises(ProtocolError) as exc:
        preflight(protocol)
    assert "t-coffee" in _one_line(exc) and "cannot be decoded" in str(exc.value)
    presenter = PsychoPyPresenter(windowed=True, display=":0")
    with pytest.raises(ProtocolError):
        presenter.open(protocol)
    assert presenter._proc is None  # no window was opened


@pytest.mark.parametrize("caption,match", [
    pytest.param(" ".join(["a very long caption that wraps"] * 12), "below the image top", id="too-many-lines"),
    pytest.param("Pneumonoultramicroscopicsilicovolcanoconiosis" * 2, "wider than the caption area", id="too-wide-word"),
])
def test_a_caption_that_does_not_fit(write_protocol, caption: str, match: str) -> None:  # type: ignore[no-untyped-def]
    protocol = write_protocol(short_protocol_text(captions=("A cat", caption)), "long.toml")
    with pytest.raises(ProtocolError, match=match) as exc:
        preflight(protocol)
    assert "t-coffee" in _one_line(exc)


def test_no_display_at_all(short_protocol, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    presenter = PsychoPyPresenter(windowed=True)
    with pytest.raises(PresentationError, match="DISPLAY is not set") as exc:
        presenter.open(short_protocol)
    _one_line(exc)
    assert presenter._proc is None


@pytest.mark.xvfb
def test_a_display_that_cannot_be_opened(xvfb_display, short_protocol) -> None:  # type: ignore[no-untyped-def]
    presenter = PsychoPyPresenter(windowed=True, display=":9873")  # no X server there
    with pytest.raises(PresentationError, match="cannot open the participant screen") as exc:
        presenter.open(short_protocol)
    assert ":9873" in _one_line(exc)
    assert presenter._proc is None


@pytest.mark.xvfb
def test_a_screen_smaller_than_the_protocol_says(xvfb_display, short_protocol) -> None:  # type: ignore[no-untyped-def]
    # full screen on the 1280x1024 Xvfb while the protocol says 1024x768: AOIs would be wrong
    presenter = PsychoPyPresenter(windowed=False, display=xvfb_display)
    with pytest.raises(PresentationError, match="1280x1024 px but the protocol") as exc:
        presenter.open(short_protocol)
    _one_line(exc)


def test_psychopy_missing_is_one_clear_line(short_protocol, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psychopy" else real(name, *a))
    with pytest.raises(PresentationError, match="psychopy is not installed.*--headless") as exc:
        PsychoPyPresenter(windowed=True, display=":0").open(short_protocol)
    _one_line(exc)


@pytest.mark.xvfb
def test_a_screen_index_that_does_not_exist(xvfb_display, short_protocol) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    protocol = dataclasses.replace(short_protocol, display=dataclasses.replace(short_protocol.display, screen_index=1))
    with pytest.raises(PresentationError, match="screen_index = 1 but display .* has 1 screen") as exc:
        PsychoPyPresenter(windowed=True, display=xvfb_display).open(protocol)
    _one_line(exc)
