"""The answered trials of a recording, from its markers and its live fixations: what training and evaluation learn from.

One walk over the markers vocabulary (:mod:`app.core.markers`) for both :mod:`models.recorded_trials` (training
examples) and :mod:`app.inference.session_evaluation` (scoring a model on recorded sessions): per trial its
variables (``!V TRIAL_VAR``), its AOI names in ``!V IAREA`` order, its ``TRIAL_RESULT`` code, and its fixations
from the ``PovLab-Fixations`` rows (AOI index into those names, -1 off every AOI), in onset order. Trials
without a yes/no/unclear answer (a timeout, an aborted trial) or without AOIs are left out: they teach nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.features import Fixation
from app.core.markers import parse_marker
from app.core.pov_release import clean_label
from app.core.streams import FIXATIONS


@dataclass(frozen=True)
class AnsweredTrial:
    number: int
    variables: dict[str, str]
    aoi_names: tuple[str, ...]
    answer: int  # TRIAL_RESULT: 0 yes, 1 no, 2 unclear
    fixations: tuple[Fixation, ...]

    @property
    def trial_id(self) -> str:
        return self.variables.get("trial_id", str(self.number))

    @property
    def practice(self) -> bool:
        return self.variables.get("practice") == "1"


def answered_trials(markers: Sequence[str], fixations: NDArray[np.float64] | Sequence[Sequence[float]]
                    ) -> list[AnsweredTrial]:
    """Answered trials, by number, from marker strings (time order) and fixation rows ([N, 6] as FIXATIONS)."""
    trials: dict[int, dict] = {}
    current: dict | None = None
    for text in markers:
        m = parse_marker(text)
        if m.kind == "TRIALID" and m.args and m.args[0].isdigit():
            current = trials.setdefault(int(m.args[0]), {"aois": [], "vars": {}, "result": None})
        elif current is None:
            continue
        elif m.kind == "TRIAL_VAR" and len(m.args) >= 2:
            current["vars"][m.args[0]] = m.args[1]
        elif m.kind == "IAREA" and m.args:
            current["aois"].append(clean_label(m.args[-1]))
        elif m.kind == "TRIAL_RESULT" and m.args and m.args[0].lstrip("-").isdigit():
            current["result"] = int(m.args[0])
    col = {c: i for i, c in enumerate(FIXATIONS.channels)}
    rows_all = np.asarray(fixations, dtype=np.float64).reshape(-1, len(FIXATIONS.channels))
    out = []
    for n, tr in sorted(trials.items()):
        if tr["result"] not in (0, 1, 2) or not tr["aois"]:
            continue
        names = tuple(tr["aois"])
        rows = rows_all[rows_all[:, col["trial_number"]] == n]
        rows = rows[np.argsort(rows[:, col["onset"]], kind="stable")]
        fixes = tuple(Fixation(int(r[col["aoi_index"]]) - 1 if r[col["aoi_index"]] >= 1 else -1,
                               float(r[col["duration"]]), float(r[col["onset"]])) for r in rows
                      if int(r[col["aoi_index"]]) <= len(names))
        out.append(AnsweredTrial(n, dict(tr["vars"]), names, int(tr["result"]), fixes))
    return out
