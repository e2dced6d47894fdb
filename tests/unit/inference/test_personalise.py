from __future__ import annotations

import numpy as np
import pytest

from app.inference.onnx_model import softmax
from app.inference.personalise import fit_logit_bias


def test_no_trials_no_bias() -> None:
    assert fit_logit_bias(np.zeros((0, 3)), np.zeros(0, np.int64)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("n", [pytest.param(2, id="two"), pytest.param(8, id="eight")])
def test_bias_moves_towards_the_participants_answers(n: int) -> None:
    logits = np.tile([2.0, 0.0, 0.0], (n, 1))  # the model says YES
    bias = fit_logit_bias(logits, np.ones(n, np.int64))  # the participant said NO every time
    p = softmax(logits[0] + bias)
    assert p[1] > softmax(logits[0])[1]
    assert bias[1] > bias[0]


def test_more_trials_move_further() -> None:
    two = fit_logit_bias(np.zeros((2, 3)), np.array([2, 2]))
    eight = fit_logit_bias(np.zeros((8, 3)), np.full(8, 2))
    assert eight[2] > two[2] > 0
