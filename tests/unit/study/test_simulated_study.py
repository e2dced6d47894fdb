"""The simulated study: a protocol with object AOIs, session folders the study commands and the training read."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from app.cli import main
from app.core.attentive_participant import answer_from_viewing, draw_traits
from app.core.layout import layout_trial
from app.core.protocol import load_protocol
from app.inference.session_evaluation import session_trials
from app.study.check import check_protocol
from app.study.simulated_study import simulate_session, study_protocol


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("simstudy")
    protocol = load_protocol(study_protocol(root / "design"))
    rng = np.random.default_rng(3)
    traits = {f"{i:02d}": replace(draw_traits(rng), lapse=0.0) for i in (1, 2, 3)}
    folders = [simulate_session(root / "sessions", protocol, pid, tr, rng) for pid, tr in traits.items()]
    return root, protocol, traits, folders


def test_protocol_and_folders_are_a_study(study, capsys: pytest.CaptureFixture[str]) -> None:
    root, protocol, _, _ = study
    assert len(check_protocol(protocol.path).trials) == len(protocol.trials) == 36
    assert all(t.aois for t in protocol.trials)
    assert main(["study", "status", str(root / "sessions"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["protocol"]["name"] == "Simulated study" and d["totals"]["trials_done"] == 3 * 36
    assert all(s["status"] == "complete" for p in d["participants"] for s in p["sessions"])
    assert main(["report", str(root / "sessions"), "--aoi-metrics", str(root / "a.tsv")]) == 0


def test_recorded_answers_follow_the_rule_on_the_recorded_fixations(study) -> None:
    _, protocol, traits, folders = study
    trials = session_trials(folders)
    assert len(trials) == 3 * 36
    by_id = {t.trial_id: t for t in protocol.trials}
    rng = np.random.default_rng(0)
    answers = []
    for t in trials:
        lay = layout_trial(protocol, by_id[t.trial_id])
        ans = answer_from_viewing(lay, by_id[t.trial_id].caption, [(f.token, f.duration_s) for f in t.fixations],
                                  traits[t.participant], rng)
        assert ("yes", "no", "unclear").index(ans) == t.answer, (t.participant, t.trial_id)
        answers.append(t.answer)
    # the answers vary within a trial across participants: the id of the stimulus alone cannot tell them
    per_trial: dict[str, set[int]] = {}
    for t in trials:
        per_trial.setdefault(t.trial_id, set()).add(t.answer)
    assert sum(len(v) > 1 for v in per_trial.values()) >= 5
    assert 0.15 < np.mean(np.array(answers) == 0) < 0.7
