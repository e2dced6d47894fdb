"""The live update's fast path: one trial's model inputs kept ready between fixations.

A live update sees the trial's fixation list grow by one fixation at a time. :class:`TrialFeed` keeps, per trial:

- the inputs that do not depend on gaze (``embedding``, ``kind``, ``position``, ``mask``, ``region``,
  ``stimulus``), built once; ``participant`` rewritten only when it changes;
- a :class:`~app.core.features.GazeTally` of the fixations seen so far, so an update counts only the new ones
  (a list that does not extend the last one, e.g. a restarted trial, is counted again from the start);
- fixed input and output buffers bound to an ONNX Runtime ``IOBinding`` as OrtValues over those buffers (no copy,
  no per-run conversion of eleven arrays): an update writes the gaze inputs in place and runs the binding.

The numbers are those of :func:`app.core.features.trial_features` + :func:`~app.core.features.batch_inputs` for
the same list (the tally is that function's own loop; tests/unit/inference/test_live_feed.py checks both paths).
One feed is used by one thread at a time (the predictor holds a lock around it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from app.core.features import (
    DWELL_FEATURES,
    GLOBAL_FEATURES,
    REGION_DIM,
    Fixation,
    GazeTally,
    Token,
    token_layout,
)


def as_fixation(f: object) -> Fixation:
    if isinstance(f, Fixation):
        return f
    aoi, dur = f[0], f[1]  # type: ignore[index]
    return Fixation(int(aoi), float(dur))


class TrialFeed:
    """One trial's bound model inputs and its running gaze tally (see the module docstring)."""

    def __init__(self, session: object, input_names: Sequence[str], tokens: Sequence[Token],
                 embedding: NDArray[np.float32], stimulus: int, region: NDArray[np.float32] | None,
                 n_classes: int) -> None:
        import onnxruntime as ort

        n = len(tokens)
        self.kind, self.position = token_layout(tokens)
        self.stimulus = stimulus
        self.n_tokens = n
        self.buffers: dict[str, NDArray] = {
            "embedding": np.ascontiguousarray(embedding, dtype=np.float32).reshape(1, n, -1),
            "kind": self.kind.reshape(1, n).copy(),
            "position": self.position.reshape(1, n).copy(),
            "dwell": np.zeros((1, n, len(DWELL_FEATURES)), np.float32),
            "order": np.zeros((1, n), np.int64),
            "transitions": np.zeros((1, n, n), np.float32),
            "mask": np.ones((1, n), np.float32),
            "glob": np.zeros((1, len(GLOBAL_FEATURES)), np.float32),
            "participant": np.zeros((1,), np.int64),
            "stimulus": np.full((1,), stimulus, np.int64),
            "region": np.zeros((1, n, REGION_DIM), np.float32) if region is None
            else np.ascontiguousarray(region, dtype=np.float32).reshape(1, n, REGION_DIM),
        }
        self.out = np.zeros((1, n_classes), np.float32)
        self._values = {name: ort.OrtValue.ortvalue_from_numpy(self.buffers[name]) for name in input_names}
        self._out_value = ort.OrtValue.ortvalue_from_numpy(self.out)
        self.binding = session.io_binding()  # type: ignore[attr-defined]
        for name, value in self._values.items():
            self.binding.bind_ortvalue_input(name, value)
        self.binding.bind_ortvalue_output("logits", self._out_value)
        self._session = session
        self._seen: list = []
        self.tally = GazeTally(n)
        self.participant = 0
        self.runs = 0  # updates run through this feed (tests check the fast path is the one in use)

    def warm(self) -> None:
        """One run on the empty trial (ONNX Runtime's first run of a shape sets up more than later ones)."""
        self.logits(0, [])
        self.runs -= 1

    def _count(self, fixations: Sequence) -> None:
        k = len(self._seen)
        if len(fixations) < k or (k and list(fixations[:k]) != self._seen):
            self._seen, self.tally, k = [], GazeTally(self.n_tokens), 0  # not a continuation: count again
        new = [as_fixation(f) for f in fixations[k:]]  # converted (and checked) before any is counted
        for f in new:
            self.tally.add(f)  # raises ModelError for a token beyond the trial's; the tally is then reset
        self._seen.extend(fixations[k:])

    def logits(self, participant: int, fixations: Sequence) -> NDArray[np.float32]:
        """The model's logits [n_classes] (a view of the output buffer: copy it before the next call)."""
        try:
            self._count(fixations)
        except Exception:
            self._seen, self.tally = [], GazeTally(self.n_tokens)
            raise
        f = self.tally.features(self.kind, self.position, participant, self.stimulus)
        b = self.buffers
        b["dwell"][0] = f.dwell
        b["order"][0] = f.order
        b["transitions"][0] = f.transitions
        b["glob"][0] = f.glob
        if participant != self.participant:
            b["participant"][0] = participant
            self.participant = participant
        self._session.run_with_iobinding(self.binding)  # type: ignore[attr-defined]
        self.runs += 1
        return self.out[0]
