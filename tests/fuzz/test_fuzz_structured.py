"""Fuzzing structured inputs with Hypothesis: model metadata, bundle manifests, remote-control lines.

Derandomized (the corpus is the same on every run), ``max_examples`` small by default and in the
thousands with ``-m slow``.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inference.model_metadata import read_metadata
from app.runfolder.bundle import DIGEST_TAG, _seal, bundle_session
from tests.fuzz.harness import FUZZ_SEEDS, FUZZ_SEEDS_SLOW, check_call, check_cli, mutate, run_seeds

FAST = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=3000, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
KEYS = ["povlab.config", "povlab.labels", "povlab.feature_version", "povlab.participants", "povlab.stimuli",
        "povlab.stimulus_labels", "povlab.uses_regions", "povlab.model_sha256"]
metadata = st.dictionaries(st.sampled_from(KEYS), st.one_of(json_values.map(json.dumps), st.text(max_size=30)),
                           max_size=len(KEYS))


def _metadata_case(meta: dict[str, str]) -> None:
    meta = {"povlab.feature_version": "2", **meta}
    result = check_call(lambda: read_metadata(Path("model.onnx"), meta), f"read_metadata({meta!r})")
    if result is not None:
        version, config, labels, participants = result  # type: ignore[misc]
        assert isinstance(version, int) and isinstance(config["emb_dim"], int) and len(labels) == 3
        assert all(isinstance(v, int) for v in participants.values())


@FAST
@given(metadata)
def test_fuzz_model_metadata(meta: dict[str, str]) -> None:
    _metadata_case(meta)


@pytest.mark.slow
@SLOW
@given(metadata)
def test_fuzz_model_metadata_slow(meta: dict[str, str]) -> None:
    _metadata_case(meta)


class _Recorder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: list[Path] = []

    def start_recording(self, path: Path) -> None:
        assert path.resolve().is_relative_to(self.root.resolve()), f"recording path {path} outside {self.root}"
        self.paths.append(path)

    def stop_recording(self) -> None: ...
    def refresh_streams(self) -> None: ...
    def select_streams(self, which: str) -> None: ...


lines = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["start", "stop", "update", "select all", "select none", "filename", "{root:",
                              "{task:x}", "{participant:P1}", "{session:1}", "{run:2}", "{template:%p_%s.xdf}",
                              "../", "/etc", "\x00", "{root:/tmp}", "{root:..}", "}", "{", "x" * 300, " "]),
             max_size=8).map("".join))


def _remote_case(root: Path, script: list[str]) -> None:
    from app.recording.remote_control import RemoteControl

    control = RemoteControl(_Recorder(root), data_root=root)
    for line in script:
        answer = check_call(lambda line=line: control.handle(line), f"RemoteControl.handle({line!r})")
        assert isinstance(answer, str) and (answer == "OK" or answer.startswith("ERROR")), answer


@FAST
@given(st.lists(lines, min_size=1, max_size=6))
def test_fuzz_remote_control_lines(tmp_path_factory: pytest.TempPathFactory, script: list[str]) -> None:
    _remote_case(tmp_path_factory.getbasetemp() / "remote-root", script)


@pytest.mark.slow
@SLOW
@given(st.lists(lines, min_size=1, max_size=6))
def test_fuzz_remote_control_lines_slow(tmp_path_factory: pytest.TempPathFactory, script: list[str]) -> None:
    _remote_case(tmp_path_factory.getbasetemp() / "remote-root", script)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.runfolder.synthetic import make_session

    base = tmp_path_factory.mktemp("fuzz-bundle")
    out = base / "s.zip"
    bundle_session(make_session(base / "data", duration_s=8.0), out)
    return out


def _bundle_case(tmp: Path, bundle: Path, seed: int) -> None:
    rng = random.Random(seed)
    work = tmp / f"b{seed}"
    work.mkdir()
    path = work / "b.zip"
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "manifest.json" or rng.random() < 0.1:
                data = mutate(data, rng)
            zout.writestr(info, data)
        zout.comment = DIGEST_TAG + b"0" * 64
    if rng.random() < 0.8:
        _seal(path)  # a re-sealed bundle: only the manifest's own checks stand between it and the import
    else:
        path.write_bytes(mutate(path.read_bytes(), rng, 1))
    check_cli(["verify", str(path)], work, work / "none")
    into = work / "lab"
    check_cli(["import", str(path), "--into", str(into)], work, into)


@pytest.mark.parametrize("seeds", [pytest.param(range(12), id="default"),
                                   pytest.param(range(FUZZ_SEEDS, FUZZ_SEEDS_SLOW), id="slow", marks=pytest.mark.slow)])
def test_fuzz_bundle_manifests(tmp_path: Path, bundle: Path, seeds: range) -> None:
    run_seeds(seeds, lambda s: _bundle_case(tmp_path, bundle, s))


