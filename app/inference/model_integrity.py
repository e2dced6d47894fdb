"""Integrity of a model file: the sha256 a POV Lab model records of itself, and its check.

An ONNX file is a protobuf ``ModelProto``. ``models/export.py`` records, in the metadata entry
``povlab.model_sha256``, the sha256 over the raw bytes of every top-level field of the file
except that one entry (graph, weights, opsets, every other metadata entry). Loading a model
recomputes it from the file's bytes with a small wire-format walk (no ``onnx`` package needed),
so one flipped byte anywhere in the weights or metadata is refused instead of silently giving
other predictions.
"""

from __future__ import annotations

import hashlib
from typing import Any

DIGEST_KEY = "povlab.model_sha256"
_METADATA_FIELD = 14  # ModelProto.metadata_props (StringStringEntryProto: key = 1, value = 2)


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes | memoryview, p: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if p >= len(data) or shift > 63:
            raise WireError(f"truncated or overlong varint at byte {p}")
        b = data[p]
        value |= (b & 0x7F) << shift
        p += 1
        if not b & 0x80:
            return value, p
        shift += 7


def fields(data: bytes | memoryview) -> list[tuple[int, int, int, int]]:
    """Top-level fields as ``(number, start, payload_start, end)`` byte offsets, in file order."""
    out = []
    p = 0
    while p < len(data):
        start = p
        tag, p = _varint(data, p)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {start}")
        if wire == 0:
            _, p = _varint(data, p)
            payload = start
        elif wire == 1:
            payload, p = p, p + 8
        elif wire == 5:
            payload, p = p, p + 4
        elif wire == 2:
            length, payload = _varint(data, p)
            p = payload + length
        else:
            raise WireError(f"wire type {wire} at byte {start}")
        if p > len(data):
            raise WireError(f"field {number} at byte {start} reaches past the end")
        out.append((number, start, payload, p))
    return out


def _entry_key(entry: memoryview) -> str | None:
    for number, _start, payload, end in fields(entry):
        if number == 1:
            return bytes(entry[payload:end]).decode("utf-8", "replace")
    return None


def model_digest(data: bytes) -> str:
    """sha256 over every top-level field of the ONNX bytes except the ``povlab.model_sha256`` entry itself."""
    view = memoryview(data)
    h = hashlib.sha256()
    for number, start, payload, end in fields(view):
        if number == _METADATA_FIELD and _entry_key(view[payload:end]) == DIGEST_KEY:
            continue
        h.update(view[start:end])
    return h.hexdigest()


def record_model_digest(proto: Any) -> str:
    """Add (or replace) ``povlab.model_sha256`` in an ``onnx.ModelProto``: the digest of the model without it."""
    for i in reversed(range(len(proto.metadata_props))):
        if proto.metadata_props[i].key == DIGEST_KEY:
            del proto.metadata_props[i]
    digest = model_digest(proto.SerializeToString())
    entry = proto.metadata_props.add()
    entry.key, entry.value = DIGEST_KEY, digest
    return digest
