"""``povlab protocol new``: images + captions CSV -> a protocol that loads, lays out and keeps the CSV's content."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from app.cli import main
from app.core.layout import layout_trial
from app.core.protocol import load_protocol


def new(images: Path, captions: Path, out: Path, *extra: str) -> int:
    return main(["protocol", "new", "--images", str(images), "--captions", str(captions), "--out", str(out), *extra])


def test_every_row_becomes_a_trial_with_word_aois(stimuli: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    images, captions = stimuli
    out = tmp_path / "study" / "p.toml"
    out.parent.mkdir()
    assert new(images, captions, out, "--screen-px", "1280", "1024", "--font-size-px", "30", "--name", "Study A") == 0
    assert f"wrote {out}" in capsys.readouterr().out
    p = load_protocol(out)
    assert p.name == "Study A" and (p.screen.width_px, p.screen.height_px) == (1280, 1024)
    assert p.style.font_size_px == 30
    assert [t.trial_id for t in p.practice] == ["chelsea"] and p.practice[0].practice
    assert [t.trial_id for t in p.trials] == ["astronaut", "coffee", "rocket", "rocket-2"]
    assert [t.caption for t in p.trials][0] == "An astronaut, smiling, in front of a flag"
    assert [t.expected for t in p.trials] == ["yes", "yes", "yes", "no"]
    assert all(t.image.parent == images.resolve() for t in p.all_trials)
    lay = layout_trial(p, p.trials[0])
    assert [a.name for a in lay.word_aois] == ["txt_an", "txt_astronaut", "txt_smiling", "txt_in", "txt_front",
                                              "txt_of", "txt_a", "txt_flag"]
    assert lay.object_aois == ()
    # paths are relative to the protocol's folder, so the study folder can move as a whole
    doc = tomlkit.parse(out.read_text())
    assert doc["trials"][0]["image"] == "../stimuli/astronaut.jpg"
    assert "povlab protocol new" in out.read_text().splitlines()[0]


def test_semicolon_csv_with_bom_and_blank_lines(stimuli: tuple[Path, Path], tmp_path: Path) -> None:
    images, _ = stimuli
    for name in ("chelsea.jpg", "astronaut.jpg", "rocket.jpg"):
        (images / name).unlink()
    captions = tmp_path / "excel.csv"
    captions.write_bytes("\ufeffImage;Caption\ncoffee.jpg;Café au lait, in a cup\n\n".encode())
    assert new(images, captions, tmp_path / "p.toml") == 0
    (trial,) = load_protocol(tmp_path / "p.toml").trials
    assert trial.caption == "Café au lait, in a cup" and trial.expected is None


@pytest.mark.parametrize(("csv_text", "message"), [
    pytest.param("image,caption\nmissing.jpg,A cat\n", "line 2: image 'missing.jpg' not found in", id="missing-image"),
    pytest.param("image,caption\n../chelsea.jpg,A cat\n", "not found in", id="path-outside-folder"),
    pytest.param("picture,text\nchelsea.jpg,A cat\n", "line 1: expected the header image,caption", id="header"),
    pytest.param("image,caption,expected\nchelsea.jpg,A cat,maybe\n", "line 2: expected must be yes, no", id="answer"),
    pytest.param("image,caption\nchelsea.jpg,\n", "line 2: caption is empty", id="empty-caption"),
    pytest.param("image,caption\nchelsea.jpg,A cat,extra\n", "line 2: 3 cells but 2 columns", id="extra-cell"),
    pytest.param("image,caption,practice\nchelsea.jpg,A cat,1\n", "no (non-practice) trial rows", id="only-practice"),
    pytest.param("image,caption\nchelsea.jpg,A cat\n", "without a caption row: astronaut.jpg, coffee.jpg, rocket.jpg",
                 id="uncaptioned-images"),
    pytest.param("image,caption\n" + "".join(f"{n},{'word ' * 60}\n" for n in
                 ("chelsea.jpg", "astronaut.jpg", "coffee.jpg", "rocket.jpg")), "caption needs", id="caption-too-long"),
])
def test_bad_captions_give_one_line_and_write_nothing(stimuli: tuple[Path, Path], tmp_path: Path, csv_text: str,
                                                     message: str, capsys: pytest.CaptureFixture[str]) -> None:
    images, captions = stimuli
    captions.write_text(csv_text, encoding="utf-8")
    out = tmp_path / "p.toml"
    assert new(images, captions, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("povlab: error: ") for line in err), err
    assert message in err[0]
    assert not out.exists() and not list(tmp_path.glob(".p*"))


def test_image_that_does_not_decode(stimuli: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    images, captions = stimuli
    data = (images / "coffee.jpg").read_bytes()
    (images / "coffee.jpg").write_bytes(data[: len(data) // 3])  # the header (size) reads, the pixels do not
    out = tmp_path / "p.toml"
    assert new(images, captions, out) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("povlab: error: ") and "coffee.jpg: image does not decode" in line
    assert str(out) in line and ".new.toml" not in line
    assert not out.exists()


def test_never_overwrites(stimuli: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, captions = stimuli
    out = tmp_path / "p.toml"
    out.write_text("# mine\n")
    assert new(images, captions, out) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == "# mine\n"
