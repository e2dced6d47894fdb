"""The fusion model file (ONNX) and the ONNX Runtime session that runs it.

:func:`load_fusion_model` checks, with one clear :class:`ModelError` each: the file exists and is ONNX, it carries
POV Lab metadata (written by ``models/export.py``), its feature version is not newer than this app's
(:data:`app.core.features.FEATURE_VERSION`), and its inputs are exactly :data:`app.core.features.INPUT_NAMES`
(:data:`~app.core.features.INPUT_NAMES_V1` for a feature version 1 model, which has no ``region`` input).

Provider choice: CUDA when it really works (the session is created with the CUDA provider first and a dry run
succeeds on it), the CPU otherwise; :attr:`FusionModel.provider` says which, :attr:`FusionModel.provider_note`
why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.errors import ModelError
from app.core.features import FEATURE_VERSION, INPUT_NAMES, INPUT_NAMES_V1, batch_inputs, trial_features
from app.core.features import Fixation as _Fixation
from app.core.features import Token as _Token
from app.inference.model_metadata import check_integrity, read_metadata

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


@dataclass
class FusionModel:
    path: Path
    session: object  # onnxruntime.InferenceSession
    provider: str  # "CUDAExecutionProvider" or "CPUExecutionProvider"
    provider_note: str
    config: dict
    labels: tuple[str, ...]
    participants: dict[str, int]
    feature_version: int
    data_sha256: str
    encoder: str
    metadata: dict[str, str] = field(repr=False, default_factory=dict)
    input_names: tuple[str, ...] = INPUT_NAMES

    @property
    def uses_regions(self) -> bool:
        """True when the model was trained on image-region features (it then needs the image encoder)."""
        return self.metadata.get("povlab.uses_regions") == "1"

    def logits(self, inputs: dict[str, NDArray]) -> NDArray[np.float32]:
        """Run the model on padded inputs (names as ``INPUT_NAMES``); returns logits [B, n_classes]."""
        feed = {k: inputs[k] for k in self.input_names}
        return self.session.run(["logits"], feed)[0]  # type: ignore[attr-defined]


def softmax(z: NDArray) -> NDArray[np.float64]:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ort_session(path: Path, providers: list[str]) -> object:
    """An ONNX Runtime session with POV Lab's options (quiet log, ``POVLAB_ORT_THREADS`` threads, default 1, and
    no spinning: with more than one thread ONNX Runtime's idle workers would otherwise busy-wait on a core the
    acquisition threads need; with one thread the run stays on the caller's thread and there is no pool)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # a failed CUDA load is expected on CPU-only machines; we report it ourselves
    opts.intra_op_num_threads = int(os.environ.get("POVLAB_ORT_THREADS", "1"))
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=providers)


def _dry_run(session: object, emb_dim: int) -> NDArray:
    tokens = [_Token("word", "a"), _Token("object", "b")]
    feats = trial_features(tokens, [_Fixation(0, 0.2), _Fixation(1, 0.3)], 0)
    inputs = batch_inputs([(np.zeros((2, emb_dim), np.float32), feats)])
    names = {i.name for i in session.get_inputs()}  # type: ignore[attr-defined]
    return session.run(["logits"], {k: v for k, v in inputs.items() if k in names})[0]  # type: ignore[attr-defined]


def load_fusion_model(path: str | Path, prefer_cuda: bool = True) -> FusionModel:
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    try:
        import onnx

        proto = onnx.load(str(p), load_external_data=False)
        meta = {m.key: m.value for m in proto.metadata_props}
        graph_inputs = [i.name for i in proto.graph.input]
    except ImportError:
        meta, graph_inputs = {}, None  # onnx is a training extra: read the file through onnxruntime below
    except Exception as exc:  # onnx raises DecodeError and others for a file that is not ONNX
        raise ModelError(f"{p}: not an ONNX model ({type(exc).__name__})") from exc
    note = ""
    session = None
    provider = CPU
    if graph_inputs is None:
        try:
            session = ort_session(p, [CPU])
        except Exception as exc:  # onnxruntime's exception types are not importable in a stable way
            raise ModelError(f"{p}: not an ONNX model ({exc})") from exc
        meta = dict(session.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
        graph_inputs = [i.name for i in session.get_inputs()]  # type: ignore[attr-defined]
    if "povlab.config" not in meta:
        raise ModelError(f"{p}: an ONNX file without POV Lab metadata (povlab.config); export it with "
                         f"`povlab model export-onnx`")
    check_integrity(p, meta)
    version, config, labels, participants = read_metadata(p, meta)
    if version > FEATURE_VERSION:
        raise ModelError(f"{p}: made for feature version {version}, newer than this app's {FEATURE_VERSION}; "
                         f"update POV Lab or re-export the model")
    if version < 1:
        raise ModelError(f"{p}: metadata povlab.feature_version missing or invalid")
    expected = INPUT_NAMES_V1 if version == 1 else INPUT_NAMES
    if tuple(graph_inputs) != expected:
        raise ModelError(f"{p}: wrong inputs {graph_inputs}; expected {list(expected)}")
    emb_dim = config["emb_dim"]
    if prefer_cuda and os.environ.get("POVLAB_FORCE_CPU") != "1":
        import onnxruntime as ort

        if CUDA in ort.get_available_providers():
            ort.set_default_logger_severity(4)  # we report a failed CUDA start in provider_note ourselves
            try:
                s = ort_session(p, [CUDA, CPU])
                if s.get_providers()[0] == CUDA:  # type: ignore[attr-defined]
                    _dry_run(s, emb_dim)
                    session, provider, note = s, CUDA, "CUDA provider loaded and a dry run succeeded"
                else:
                    note = "CUDA provider is built in but could not start (no GPU or no CUDA libraries): CPU"
            except Exception as exc:  # noqa: BLE001 - any CUDA failure means: use the CPU, and say why
                note = f"CUDA failed ({type(exc).__name__}: {str(exc)[:120]}): CPU"
        else:
            note = "this onnxruntime has no CUDA provider: CPU"
    if session is None or provider != CUDA:
        try:
            session = ort_session(p, [CPU])
        except Exception as exc:  # onnxruntime's exception types are not importable in a stable way
            raise ModelError(f"{p}: ONNX Runtime cannot load it ({str(exc)[:200]})") from exc
        provider = CPU
        note = note or "CPU requested"
    try:
        logits = _dry_run(session, emb_dim)
    except Exception as exc:  # a graph that does not take our inputs
        raise ModelError(f"{p}: the model does not run on POV Lab inputs ({str(exc)[:200]})") from exc
    if np.shape(logits) != (1, len(labels)):
        raise ModelError(f"{p}: the model gives logits of shape {list(np.shape(logits))}; expected [1, {len(labels)}] "
                         f"(one per label {list(labels)})")
    return FusionModel(p, session, provider, note, config, labels, participants, version,
                       meta.get("povlab.data_sha256", ""), meta.get("povlab.encoder", ""), meta, expected)
