from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.inference import text_encoder
from app.inference.text_encoder import EmbeddingCache, TextEncoder, WordPiece


@pytest.mark.parametrize(("text", "ids"), [
    pytest.param("yellowstripe", [101, 3756, 3367, 29443, 2063, 102], id="wordpiece-split"),
    pytest.param("Dog", [101, 3899, 102], id="lower-case"),
    pytest.param("café!", [101, 7668, 999, 102], id="accents-and-punctuation"),
    pytest.param("", [101, 102], id="empty"),
])
def test_wordpiece_matches_bert_uncased(text: str, ids: list[int]) -> None:
    assert WordPiece().encode(text) == ids


def test_embeddings_are_unit_vectors_with_meaning() -> None:
    v = TextEncoder().encode(["dog", "puppy", "car"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_cache_persists_and_needs_no_encoder_when_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "emb.npz"
    first = EmbeddingCache(path=path).embed(["dog", "cat", "dog"])
    assert path.is_file() and first.shape == (3, 384)

    def no_encoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("encoder used although every text was cached")

    monkeypatch.setattr(text_encoder, "TextEncoder", no_encoder)
    again = EmbeddingCache(path=path).embed(["cat", "dog"])
    np.testing.assert_array_equal(again, first[[1, 0]])
