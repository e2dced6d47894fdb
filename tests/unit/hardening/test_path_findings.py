"""Paths built from user text stay in their folder; distinct stimuli get distinct copies (issue 15)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import RecordingError
from app.core.limits import safe_filename
from app.inference.text_encoder import EMBEDDING_DIM, EmbeddingCache
from app.runfolder.files import check_label, copy_protocol, next_run
from tests.hostile import IMG, expect_clean_error


@pytest.mark.parametrize("label", ["X\n", "../x", "a b", "", "x" * 65, "é"])
def test_labels_with_newlines_or_separators_are_refused(tmp_path: Path, label: str) -> None:
    with pytest.raises(RecordingError, match="letters and digits"):
        check_label("participant", label)
    with pytest.raises(RecordingError):
        next_run(tmp_path, label, "01")
    assert not any(tmp_path.iterdir())


def test_cli_participant_with_a_newline(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        demo_protocol_path: Path) -> None:
    expect_clean_error(["run", "--protocol", str(demo_protocol_path), "--participant", "X\n", "--out",
                        str(tmp_path / "out"), "--no-model"], capsys, "letters and digits")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["../../../x/pwned", "a/b", "..", ".", "x" * 300, "n\x00ul", "ok-name_1.2"])
def test_safe_filename_never_leaves_the_folder(tmp_path: Path, text: str) -> None:
    name = safe_filename(text)
    assert name and "/" not in name and name not in (".", "..") and len(name) <= 64
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert safe_filename("ok-name_1.2") == "ok-name_1.2"
    assert safe_filename("a/b") != safe_filename("a_b")  # changed names keep a hash: no two texts merge


def test_same_file_name_in_two_folders_gives_two_copies(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copyfile(IMG, a / "pic.jpg")
    shutil.copyfile(IMG.with_name("rocket.jpg"), b / "pic.jpg")
    proto = tmp_path / "p.toml"
    proto.write_text("[[trials]]\nimage = \"a/pic.jpg\"\n[[trials]]\nimage = 'b/pic.jpg'\n"
                     "[layout]\nfont = 'font.ttf'\n")
    shutil.copyfile(IMG, tmp_path / "font.ttf")  # any bytes: only copied here
    out = tmp_path / "run"
    out.mkdir()
    names = copy_protocol(proto, [a / "pic.jpg", b / "pic.jpg", tmp_path / "font.ttf"], out)
    assert len(set(names.values())) == 3
    copy = tomllib.loads((out / "protocol.toml").read_text())
    images = [out / t["image"] for t in copy["trials"]]
    assert images[0].read_bytes() == (a / "pic.jpg").read_bytes()
    assert images[1].read_bytes() == (b / "pic.jpg").read_bytes()  # single quotes rewritten too
    assert copy["layout"]["font"].startswith("stimuli/")


def test_protocol_name_cannot_move_the_embedding_cache(tmp_path: Path) -> None:
    from app.core.protocol import load_protocol
    from app.inference.predictor import LivePredictor
    from tests.hostile import protocol_text

    path = tmp_path / "p.toml"
    path.write_text(protocol_text().replace('name = "hostile"', 'name = "../../../x/pwned"'))
    cache = tmp_path / "deep" / "cache"
    LivePredictor.load(None, load_protocol(path), cache_dir=cache, prefer_cuda=False)
    written = [p for p in tmp_path.rglob("*.npz")]
    assert written and all(p.parent == cache for p in written)
    assert not (tmp_path / "x").exists()


def test_truncated_embedding_cache_is_rebuilt(tmp_path: Path) -> None:
    class Fake:
        def encode(self, texts):
            return np.ones((len(texts), EMBEDDING_DIM), np.float32)

    path = tmp_path / "c.npz"
    EmbeddingCache(Fake(), path).embed(["cup", "saucer"])  # type: ignore[arg-type]
    path.write_bytes(path.read_bytes()[:100])
    again = EmbeddingCache(Fake(), path)  # type: ignore[arg-type]
    assert again.embed(["cup"]).shape == (1, EMBEDDING_DIM)
    assert set(EmbeddingCache(None, path).vectors) == {"cup"}  # rewritten whole
