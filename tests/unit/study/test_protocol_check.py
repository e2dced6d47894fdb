"""``povlab protocol check``: a session's preparation checks without tracker or display; every problem listed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.core.paths import ASSETS_DIR, DEMO_PROTOCOL


def check(path: Path) -> int:
    return main(["protocol", "check", str(path)])


def test_demo_protocol_one_line_per_trial(capsys: pytest.CaptureFixture[str]) -> None:
    from app.core.protocol import load_protocol

    assert check(DEMO_PROTOCOL) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    p = load_protocol(DEMO_PROTOCOL)
    assert len(lines) == len(p.all_trials) + 1
    assert lines[0].startswith(f"practice {p.practice[0].trial_id}: chelsea.jpg 451x300 shown at")
    assert "3 object AOIs" in lines[0]
    assert lines[-1].endswith("font DejaVuSans.ttf 42 px")


def test_hundred_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "img"
    images.mkdir()
    rows = ["image,caption,expected"]
    for i in range(100):
        shutil.copyfile(ASSETS_DIR / "images" / "coins.jpg", images / f"s{i:03d}.jpg")
        rows.append(f"s{i:03d}.jpg,Coins number {i} on a table,{'yes' if i % 3 else 'no'}")
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "p.toml"
    assert main(["protocol", "new", "--images", str(images), "--captions", str(tmp_path / "c.csv"),
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert check(out) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 101 and lines[99].startswith("trial s099: s099.jpg 384x303")


def _protocol(tmp_path: Path, trials: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(f"""schema_version = 1
[screen]
width_px = 1280
height_px = 1024
width_cm = 37.5
height_cm = 30.0
distance_cm = 65.0
{trials}""")
    return p


def test_every_problem_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.jpg"
    data = (ASSETS_DIR / "images" / "coffee.jpg").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    good = ASSETS_DIR / "images" / "coins.jpg"
    p = _protocol(tmp_path, f"""
[[trials]]
id = "a"
image = "{broken}"
caption = "A cup"
[[trials]]
id = "b"
image = "{good}"
caption = "Coins 硬币"
[[trials]]
id = "c"
image = "{good}"
caption = "{'Coins ' * 80}"
[[trials]]
id = "d"
image = "{broken}"
caption = "Again the broken one"
""")
    assert check(p) == 2
    out = capsys.readouterr()
    assert out.out == ""
    err = out.err.strip().splitlines()
    assert all(line.startswith("povlab: error: ") for line in err)
    assert len(err) == 4, err
    assert "trial a:" in err[0] and "broken.jpg: image does not decode" in err[0]
    assert "trial b: caption characters not in the font DejaVuSans.ttf: '硬' (U+786C), '币' (U+5E01)" in err[1]
    assert "trial c: caption needs" in err[2]
    assert "trial d:" in err[3] and "does not decode" in err[3]


@pytest.mark.parametrize(("trials", "message"), [
    pytest.param('[[trials]]\nimage = "nope.jpg"\ncaption = "x"', "trials[0].image: file not found", id="missing"),
    pytest.param(f'[[trials]]\nimage = "{ASSETS_DIR / "images" / "coins.jpg"}"\ncaption = "x"\n'
                 'aois = [{ label = "c", box = [0, 0, 500, 10] }]', "coordinates inside the image (0..384",
                 id="aoi-outside-image"),
    pytest.param(f'[layout]\nimage_top_px = 1100\n[[trials]]\nimage = "{ASSETS_DIR / "images" / "coins.jpg"}"\n'
                 'caption = "x"', "image_top_px is below the screen bottom", id="layout-off-screen"),
    pytest.param('[layout]\nfont = "font.ttf"\n[[trials]]\nimage = "x.jpg"\ncaption = "x"', "font: file not found",
                 id="font-missing"),
])
def test_one_line_for_a_protocol_that_cannot_load(tmp_path: Path, trials: str, message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert check(_protocol(tmp_path, trials)) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("povlab: error: ") and message in line


def test_font_that_is_not_a_font(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "font.ttf").write_bytes(b"not a font at all" * 10)
    p = _protocol(tmp_path, f'[layout]\nfont = "font.ttf"\n[[trials]]\nimage = "{ASSETS_DIR / "images" / "coins.jpg"}"'
                  '\ncaption = "Coins"')
    assert check(p) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("povlab: error: ") and "not a TrueType/OpenType font" in err[0]
