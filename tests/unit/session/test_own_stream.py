"""The session's own outlets are resolved again when a loaded machine misses them, then refused in one line."""

from __future__ import annotations

import pytest

from app.core.errors import RecordingError
from app.session.lsl_parts import _own_stream


def test_a_missed_resolve_is_asked_again() -> None:
    answers = [[], [], ["markers-stream"]]
    asked: list[tuple[str, float]] = []

    def find_streams(source_id: str, timeout: float) -> list[str]:
        asked.append((source_id, timeout))
        return answers.pop(0)

    assert _own_stream(find_streams, "sid-markers", 2.0) == "markers-stream"
    assert asked == [("sid-markers", 2.0)] * 3


def test_never_resolved_is_one_clear_error() -> None:
    with pytest.raises(RecordingError, match="own LSL stream 'sid-fixations' could not be resolved"):
        _own_stream(lambda source_id, timeout: [], "sid-fixations", 0.5)
