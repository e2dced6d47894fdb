from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import GazeDataError
from app.core.features import Token
from app.core.pov_release import (
    HEADER,
    clean_label,
    label_text,
    read_pov_csv,
    stimulus_tokens,
    token_for_label,
    trial_fixations,
)


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = HEADER) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return path


ROW = ["42", "P1", "txt_a, txt_Dog, \"txt_dog\", off, vix_dog, tct_runs",
       "500, 600, 600, 10, 900, 700", "100, 100, 100, 10, 600, 160", "0.1, 0.1, 0.1, 0.1, 0.1, 0.1",
       "100, 200, 200, 150, 300, 250", "1"]


@pytest.mark.parametrize(("raw", "clean"), [
    pytest.param("txt_Blue3", "txt_blue3", id="mixed-case"),
    pytest.param(" \"txt_giraffes\"", "txt_giraffes", id="stray-quotes"),
    pytest.param("vix_car", "vis_car", id="vix-typo"),
    pytest.param("tct_phone", "txt_phone", id="tct-typo"),
    pytest.param("off", "off", id="off"),
    pytest.param("xyz_thing", "off", id="unknown-prefix-is-off"),
    pytest.param("vis_red paint", "vis_red paint", id="space-kept"),
])
def test_clean_label(raw: str, clean: str) -> None:
    assert clean_label(raw) == clean


@pytest.mark.parametrize(("label", "text"), [
    pytest.param("txt_ski2", "ski", id="repeat-count"),
    pytest.param("txt_7", "7", id="number-word"),
    pytest.param("txt_1300 1", "1300", id="number-word-with-count"),
    pytest.param("vis_tennis court", "tennis court", id="two-word-object"),
    pytest.param("txt_a", "a", id="plain"),
])
def test_label_text(label: str, text: str) -> None:
    assert label_text(label) == text


def test_token_for_label_kinds() -> None:
    assert token_for_label("vix_Dog2") == Token("object", "dog")
    assert token_for_label("txt_runs") == Token("word", "runs")


def test_reader_cleans_noise_and_duplicates(tmp_path: Path) -> None:
    trials = read_pov_csv(write_csv(tmp_path / "f.csv", [ROW]))
    assert len(trials) == 1
    t = trials[0]
    assert t.answer == 1 and t.participant == "P1" and t.image_id == "42"
    # the "dog" fixation is listed twice (same x, y, duration): kept once
    assert [f.label for f in t.fixations] == ["txt_a", "txt_dog", "off", "vis_dog", "txt_runs"]


def test_reader_takes_quotes_as_data(tmp_path: Path) -> None:
    row = ["\"42", "P1", "\"txt_a, txt_dog\"", "\"1, 2\"", "1, 2", "0.1, 0.1", "100, \"200", "\"2\""]
    trials = read_pov_csv(write_csv(tmp_path / "q.csv", [row, ROW]))
    assert len(trials) == 2 and trials[0].image_id == "42" and trials[0].answer == 2
    assert [f.label for f in trials[0].fixations] == ["txt_a", "txt_dog"]
    assert trials[0].fixations[1].duration_ms == 200


def test_stimulus_tokens_reading_order(tmp_path: Path) -> None:
    rows = [ROW, ["42", "P2", "txt_runs, txt_a", "700, 500", "160, 100", "0.1, 0.1", "100, 100", "0"]]
    trials = read_pov_csv(write_csv(tmp_path / "f.csv", rows))
    labels, tokens = stimulus_tokens(trials)["42"]
    # line 1 (y=100): a (x=500), dog (x=600); line 2 (y=160): runs; then objects
    assert labels == ("txt_a", "txt_dog", "txt_runs", "vis_dog")
    assert tokens[-1] == Token("object", "dog")
    fx = trial_fixations(trials[0], labels)
    assert [f.token for f in fx] == [0, 1, -1, 3, 2]
    assert fx[1].onset_s == pytest.approx(0.1)


@pytest.mark.parametrize(("rows", "header", "message"), [
    pytest.param([ROW], ("ImageID", "Participant"), "header", id="wrong-header"),
    pytest.param([[*ROW[:7], "YES"]], HEADER, "unknown label 'YES'", id="unknown-answer"),
    pytest.param([[*ROW[:7], "3"]], HEADER, "unknown label '3'", id="answer-out-of-range"),
    pytest.param([ROW[:5]], HEADER, "expected 8", id="missing-columns"),
    pytest.param([[*ROW[:3], "1, 2", *ROW[4:]]], HEADER, "equal counts", id="list-lengths-differ"),
    pytest.param([[*ROW[:6], "a, b, c, d, e, f", "0"]], HEADER, "Fixation Duration", id="not-numbers"),
    pytest.param([], HEADER, "no trials", id="empty"),
])
def test_reader_rejects_bad_files(tmp_path: Path, rows: list, header: tuple, message: str) -> None:
    with pytest.raises(GazeDataError, match=message):
        read_pov_csv(write_csv(tmp_path / "bad.csv", rows, header))


def test_reader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GazeDataError, match="not found"):
        read_pov_csv(tmp_path / "nope.csv")


def test_reads_the_dev_release(shared_data: Path) -> None:
    trials = read_pov_csv(shared_data / "pov" / "fixations_dev.csv")
    assert len(trials) == 715
    assert [sum(t.answer == k for t in trials) for k in range(3)] == [499, 139, 77]
    labels = {f.label for t in trials for f in t.fixations}
    assert all(lab == "off" or lab[:4] in ("txt_", "vis_") for lab in labels)
    assert all(lab == lab.lower() for lab in labels)


def test_stimulus_tokens_keep_a_models_known_order(tmp_path: Path) -> None:
    trials = read_pov_csv(write_csv(tmp_path / "f.csv", [ROW]))
    known = {"42": ["vis_dog", "txt_runs", "txt_a"]}  # as the model was trained: this order, no "dog" word
    labels, tokens = stimulus_tokens(trials, known)["42"]
    assert labels == ("txt_runs", "txt_a", "txt_dog", "vis_dog")  # known words, new word, then objects
    assert tokens[2] == Token("word", "dog")
