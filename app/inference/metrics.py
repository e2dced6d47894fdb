"""Classification figures for the model card and ``povlab model evaluate`` (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.core.answers import LABELS


def classification_report(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                          labels: Sequence[str] = LABELS) -> dict:
    """Accuracy, macro-F1 (mean of per-class F1, Sokolova & Lapalme 2009) and per-class precision/recall/F1."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    per_class = {}
    f1s = []
    for k, name in enumerate(labels):
        tp = int(np.sum((p == k) & (t == k)))
        fp = int(np.sum((p == k) & (t != k)))
        fn = int(np.sum((p != k) & (t == k)))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        per_class[name] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                           "support": int(np.sum(t == k))}
    n = int(t.size)
    return {"n": n, "accuracy": round(float(np.mean(t == p)) if n else 0.0, 4),
            "macro_f1": round(float(np.mean(f1s)), 4), "per_class": per_class}
