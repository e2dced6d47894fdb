"""POV Lab's metadata of a model file, type-checked entry by entry, and the file's recorded sha256 checked.

``models/export.py`` writes the entries; each is a JSON text (or a plain string) of a known shape:

========================  =====================================================================
``povlab.config``          object; ``emb_dim`` an integer 1..4096 (384 when absent)
``povlab.labels``          ``["YES", "NO", "UNCLEAR"]``: the app's three answers, in this order
``povlab.feature_version`` an integer as text (``"2"``)
``povlab.participants``    object: participant id -> embedding row (integer >= 0)
``povlab.stimuli``         object: trial/image id -> stimulus row (integer >= 0)
``povlab.stimulus_labels`` object: image id -> list of AOI label strings
``povlab.uses_regions``    ``"0"`` or ``"1"``
``povlab.model_sha256``    sha256 of the file without this entry (see :mod:`app.inference.model_integrity`)
========================  =====================================================================

A model with other labels (one label, a different order) would give numbers that mean something
else (a one-label model "scores" a macro-F1 of 0.81 where the truth is 0.40): it is refused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from app.core.answers import LABELS
from app.core.errors import ModelError
from app.core.limits import nesting_depth
from app.inference.model_integrity import DIGEST_KEY, WireError, model_digest

log = logging.getLogger(__name__)
MAX_MODEL_BYTES = 2**31  # protobuf's own limit for one file
MAX_ENTRY_CHARS = 16 * 2**20


def _json(p: Path, meta: dict[str, str], key: str, default: str, kind: type) -> Any:
    text = meta.get(key, default)
    if not isinstance(text, str) or len(text) > MAX_ENTRY_CHARS:
        raise ModelError(f"{p}: metadata {key} is not a JSON text of at most {MAX_ENTRY_CHARS} characters")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{p}: POV Lab metadata {key} is unreadable (not valid JSON: {str(exc)[:80]})") from exc
    if not isinstance(value, kind) or nesting_depth(value, 4) > 4:
        raise ModelError(f"{p}: metadata {key} must be a JSON {'object' if kind is dict else 'array'} of the "
                         f"documented shape, got {type(value).__name__}")
    return value


def _rows(p: Path, meta: dict[str, str], key: str) -> dict[str, int]:
    raw = _json(p, meta, key, "{}", dict)
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**31:
            raise ModelError(f"{p}: metadata {key}: {str(k)[:40]!r} maps to {str(v)[:40]!r}; expected an integer >= 0")
    return {str(k): int(v) for k, v in raw.items()}


def read_metadata(p: Path, meta: dict[str, str]) -> tuple[int, dict[str, Any], tuple[str, ...], dict[str, int]]:
    """(feature version, config with ``emb_dim``, labels, participants) of a model's metadata, each type-checked."""
    version_text = meta.get("povlab.feature_version", "")
    if not (isinstance(version_text, str) and version_text.isdigit() and len(version_text) < 6):
        raise ModelError(f"{p}: metadata povlab.feature_version missing or invalid ({str(version_text)[:20]!r})")
    config = _json(p, meta, "povlab.config", "{}", dict)
    emb_dim = config.get("emb_dim", 384)
    if isinstance(emb_dim, bool) or not isinstance(emb_dim, int) or not 1 <= emb_dim <= 4096:
        raise ModelError(f"{p}: metadata povlab.config: emb_dim must be an integer 1..4096, got {str(emb_dim)[:40]!r}")
    config = {**config, "emb_dim": emb_dim}
    labels = _json(p, meta, "povlab.labels", json.dumps(list(LABELS)), list)
    if tuple(labels) != LABELS:
        raise ModelError(f"{p}: metadata povlab.labels is {str(labels)[:80]}; POV Lab models answer exactly "
                         f"{list(LABELS)} in this order")
    participants = _rows(p, meta, "povlab.participants")
    _rows(p, meta, "povlab.stimuli")
    stim_labels = _json(p, meta, "povlab.stimulus_labels", "{}", dict)
    for k, v in stim_labels.items():
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ModelError(f"{p}: metadata povlab.stimulus_labels: {str(k)[:40]!r} must map to a list of strings")
    if meta.get("povlab.uses_regions", "0") not in ("0", "1"):
        raise ModelError(f"{p}: metadata povlab.uses_regions must be \"0\" or \"1\"")
    return int(version_text), config, LABELS, participants


def check_integrity(p: Path, meta: dict[str, str]) -> None:
    """Refuse a model whose bytes differ from the sha256 it records (no record: a warning, older exports)."""
    recorded = meta.get(DIGEST_KEY)
    if recorded is None:
        log.warning("%s records no %s; its integrity cannot be checked (re-export it)", p, DIGEST_KEY)
        return
    try:
        if p.stat().st_size > MAX_MODEL_BYTES:
            raise ModelError(f"{p}: model file larger than 2 GiB")
        actual = model_digest(p.read_bytes())
    except OSError as exc:
        raise ModelError(f"{p}: cannot read the model file ({exc.strerror})") from exc
    except WireError as exc:
        raise ModelError(f"{p}: not a well-formed ONNX file ({exc})") from exc
    if actual != recorded:
        raise ModelError(f"{p}: the file's sha256 ({actual[:16]}...) is not the {recorded[:16]}... it records: "
                         "the model was changed or damaged after export; restore or re-export it")
