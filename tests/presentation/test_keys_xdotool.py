"""Real key presses (xdotool into the Xvfb window): answer, pause/resume and abort keys.

Each key is sent when the marker that opens the matching screen reaches the sink, so the test
does not depend on how fast the machine is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

from app.core.markers import parse_marker
from app.core.protocol import Protocol
from app.presentation.presenter import PsychoPyPresenter
from tests.presentation.conftest import CollectingSink, short_protocol_text

pytestmark = pytest.mark.xvfb


def test_answer_pause_resume_and_abort_keys(xvfb_display: str, write_protocol) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt-get install -y xdotool)")
    text = short_protocol_text(extra="").replace('instructions = "Press Y for yes, N for no, U if unsure."', "")
    head, tail = text.split("[[practice]]")
    main = tail.split("[[trials]]")[1]
    protocol: Protocol = write_protocol(head + "[[trials]]" + main.replace('"t-coffee"', '"t-one"')
                                        + "[[trials]]" + main, "keys.toml")
    assert [t.trial_id for t in protocol.all_trials] == ["t-one", "t-coffee"] and not protocol.instructions
    env = dict(os.environ, DISPLAY=xvfb_display)

    def press(key: str) -> None:
        subprocess.run(["xdotool", "key", key], env=env, check=True, timeout=10)

    # stimulus 1: P (pause after this trial) then Y; PAUSE screen: P (resume); stimulus 2: Escape
    plan = {("STIM_ONSET", 1): ["p", "y"], ("PAUSE", 1): ["p"], ("STIM_ONSET", 2): ["Escape"]}
    seen: dict[str, int] = {}

    class KeyingSink(CollectingSink):
        def push(self, marker: str, timestamp: float) -> None:
            super().push(marker, timestamp)
            kind = parse_marker(marker).kind
            seen[kind] = seen.get(kind, 0) + 1
            for key in plan.get((kind, seen[kind]), []):
                press(key)

    sink = KeyingSink()
    presenter = PsychoPyPresenter(windowed=True, display=xvfb_display, validation=False)
    stop = threading.Event()
    guard = threading.Timer(60.0, stop.set)  # a lost key must fail the test, not hang it
    guard.start()
    try:
        outcomes = presenter.run(protocol, sink, stop, lambda o: None)
    finally:
        guard.cancel()
    assert not stop.is_set()
    assert [(o.trial_id, o.response) for o in outcomes] == [("t-one", "yes")]
    assert outcomes[0].rt_s is not None and 0 < outcomes[0].rt_s < outcomes[0].stim_offset - outcomes[0].stim_onset + 1e-9
    kinds = [parse_marker(m).kind for _, m in sink.items]
    assert kinds[kinds.index("TRIAL_RESULT") + 1: kinds.index("TRIAL_RESULT") + 4] == ["PAUSE", "RESUME", "TRIALID"]
    assert kinds[-3:] == ["STIM_ONSET", "STIM_OFFSET", "ABORT"]
