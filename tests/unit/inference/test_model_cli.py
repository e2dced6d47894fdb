"""``povlab model ...`` and the inference/latency benchmarks from the command line: results and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.pov_release import HEADER

ROW = ["42", "P1", "txt_a, txt_dog, vis_dog", "500, 600, 900", "100, 100, 600", "0.1, 0.1, 0.1", "100, 200, 300", "0"]


def write(path: Path, rows: list[list[str]], header: tuple[str, ...] = HEADER) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return path


def test_evaluate_prints_one_json_line(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lines = (shared_data / "pov" / "fixations_dev.csv").read_text(encoding="utf-8").splitlines()
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines[:31]) + "\n", encoding="utf-8")
    assert main(["model", "evaluate", "--pov-csv", str(small), "--cpu"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n"] == 30 and 0.0 <= out["accuracy"] <= 1.0 and 0.0 <= out["macro_f1"] <= 1.0
    assert set(out["per_class"]) == {"YES", "NO", "UNCLEAR"}


def test_evaluate_unseen_participant_and_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = write(tmp_path / "new.csv", [ROW, ["43", "NEW", "off, txt_cat", "1, 2", "1, 2", "0.1, 0.1", "80, 90", "2"]])
    assert main(["model", "evaluate", "--pov-csv", str(csv), "--cpu"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n"] == 2


@pytest.mark.parametrize(("make", "extra", "message"), [
    pytest.param(lambda p: write(p, [ROW], ("a", "b")), [], "header", id="wrong-header"),
    pytest.param(lambda p: write(p, [[*ROW[:7], "MAYBE"]]), [], "unknown label 'MAYBE'", id="unknown-label"),
    pytest.param(lambda p: p, [], "not found", id="missing-csv"),
    pytest.param(lambda p: write(p, [ROW]), ["--model", "{tmp}/fake.onnx"], "not an ONNX model", id="not-onnx"),
    pytest.param(lambda p: write(p, [ROW]), ["--model", "{tmp}/none.onnx"], "model file not found",
                 id="missing-model"),
])
def test_evaluate_bad_input_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, make, extra: list[str],
                                     message: str) -> None:
    (tmp_path / "fake.onnx").write_bytes(b"this is not a protobuf \x00\xff")
    csv = make(tmp_path / "t.csv")
    args = ["model", "evaluate", "--pov-csv", str(csv), "--cpu", *[e.format(tmp=tmp_path) for e in extra]]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("povlab: error:") and message in err[0]


def test_export_missing_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["model", "export-onnx", str(tmp_path / "none.pt"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_export_not_a_checkpoint(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    pytest.importorskip("torch")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert main(["model", "export-onnx", str(bad), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err[-1].startswith("povlab: error:") and "not a POV Lab checkpoint" in err[-1]


def test_train_needs_data(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["model", "train", "--out", str(tmp_path)]) == 2
    assert "--pov-csv" in capsys.readouterr().err


def test_train_bad_csv_one_line(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    pytest.importorskip("torch")
    csv = write(tmp_path / "bad.csv", [[*ROW[:7], "7"]])
    assert main(["model", "train", "--pov-csv", str(csv), "--out", str(tmp_path / "o"), "--epochs", "1"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err[-1].startswith("povlab: error:") and "unknown label '7'" in err[-1]


def test_bench_inference_json(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "inference", "--json", "--n", "200", "--cpu"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["provider"] == "CPUExecutionProvider"
    assert out["update"]["p99_ms"] >= out["update"]["p50_ms"] > 0
    assert "eager_torch_model_only" in out


@pytest.mark.slow
def test_bench_latency_json(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "latency", "--json", "--seconds", "6", "--cpu"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_predictions"] > 0 and out["p99_ms"] >= out["p50_ms"] > 0
