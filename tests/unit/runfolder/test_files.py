from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.errors import RecordingError
from app.core.protocol import load_protocol
from app.runfolder.files import (
    TrialsTable,
    check_label,
    copy_protocol,
    next_run,
    write_json_atomic,
)


def test_runs_are_numbered_and_never_reused(tmp_path: Path) -> None:
    first = next_run(tmp_path, "P01", "01")
    assert first.folder == tmp_path / "sub-P01" / "ses-01"
    assert first.xdf.name == "sub-P01_ses-01_task-pov_run-001.xdf"
    first.xdf.write_bytes(b"data")
    second = next_run(tmp_path, "P01", "01")
    assert second.xdf.name.endswith("run-002.xdf")
    second.session_json.write_text("{}")  # a run that only got its metadata also counts
    assert next_run(tmp_path, "P01", "01").stem.endswith("run-003")


@pytest.mark.parametrize("label", ["P 1", "p-1", "", "ü1", "../x"])
def test_labels_must_be_alphanumeric(label: str) -> None:
    with pytest.raises(RecordingError, match="letters and digits"):
        check_label("participant", label)


def test_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordingError, match="not writable"):
        next_run(blocker, "P01", "01")


def test_protocol_copy_stands_alone(tmp_path: Path, demo_protocol_path: Path) -> None:
    p = load_protocol(demo_protocol_path)
    copy_protocol(demo_protocol_path, sorted({t.image for t in p.all_trials} | {p.style.font}), tmp_path)
    copy = load_protocol(tmp_path / "protocol.toml")
    assert [t.caption for t in copy.all_trials] == [t.caption for t in p.all_trials]
    assert all(t.image == tmp_path / "stimuli" / t.image.name for t in copy.all_trials)
    assert copy.style.font == tmp_path / "stimuli" / "DejaVuSans.ttf"


def test_atomic_json_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    write_json_atomic(path, {"status": "recording"})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"status": object()})  # not serialisable: fails mid-write
    assert json.loads(path.read_text()) == {"status": "recording"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_trials_table_appends_rows(tmp_path: Path) -> None:
    table = TrialsTable(tmp_path / "t.tsv")
    table.append({"number": 1, "trial_id": "a", "stim_onset": 1.5, "response": "yes"})
    lines = (tmp_path / "t.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["number", "trial_id", "practice"]
    assert lines[1].split("\t")[:4] == ["1", "a", "n/a", "1.500000"]
    with pytest.raises(FileExistsError):
        TrialsTable(tmp_path / "t.tsv")


@pytest.mark.parametrize(("value", "cell"), [(None, "n/a"), (float("nan"), "n/a"), (float("inf"), "n/a"),
                                             (-float("inf"), "n/a"), (3.0, "3"), (2.5, "2.5"), (True, "1"),
                                             (1e-7, "0"), (1234.5678901, "1234.56789"), ("txt", "txt")])
def test_table_cells_are_numbers_or_n_a(value: object, cell: str) -> None:
    """BIDS TSV cells: a number or n/a; infinity (from a damaged recording) was an OverflowError."""
    from app.runfolder.folder import fmt_cell

    assert fmt_cell(value) == cell
