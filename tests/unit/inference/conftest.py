from __future__ import annotations

from pathlib import Path

import pytest

from app.core.paths import BUNDLED_MODEL
from app.inference.model_integrity import record_model_digest


@pytest.fixture
def bundled_model() -> Path:
    if not BUNDLED_MODEL.is_file():
        pytest.fail(f"bundled model missing at {BUNDLED_MODEL}")
    return BUNDLED_MODEL


def rewrite_metadata(src: Path, dst: Path, seal: bool = True, **changes: str) -> Path:
    """A copy of ``src`` with metadata entries changed (or added when missing); ``seal``: with the model sha256
    recomputed, as ``models/export.py`` records it (otherwise the change is caught as damage)."""
    import onnx

    proto = onnx.load(str(src))
    left = dict(changes)
    for entry in proto.metadata_props:
        if entry.key in left:
            entry.value = left.pop(entry.key)
    for key, value in left.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    if seal:
        record_model_digest(proto)
    onnx.save(proto, str(dst))
    return dst
