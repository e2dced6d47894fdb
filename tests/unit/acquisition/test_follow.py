"""Which returned stream is the tracker, and what changed (app.acquisition.follow)."""

from __future__ import annotations

from app.acquisition.discovery import StreamDescription
from app.acquisition.follow import choose_returned, layout_change


def desc(source_id: str, n: int = 4, labels: tuple[str, ...] = ("a", "b", "c", "d"), rate: float = 500.0,
         fmt: str = "float32", uid: str = "") -> StreamDescription:
    return StreamDescription("EyeLink", "Gaze", source_id, rate, n, fmt, "lab-pc", uid or source_id,
                             tuple({"label": lab} for lab in labels[:n]), None)


def test_the_old_source_id_wins_then_the_only_one_else_none() -> None:
    old = desc("eyelink-a")
    assert choose_returned(old, [desc("other", uid="u1"), desc("eyelink-a", uid="u2")]).uid == "u2"
    assert choose_returned(old, [desc("eyelink-b")]).source_id == "eyelink-b"
    assert choose_returned(old, [desc("eyelink-b"), desc("eyelink-c")]) is None, "two candidates: do not guess"
    assert choose_returned(old, []) is None


def test_layout_change_says_what_changed() -> None:
    old = desc("a")
    assert layout_change(old, desc("a", uid="new")) == ""
    assert layout_change(old, desc("b", n=3, rate=250.0, fmt="double64")) == (
        "source_id a -> b, 4 -> 3 channels, format float32 -> double64, rate 500 -> 250 Hz")
    assert layout_change(old, desc("a", labels=("w", "x", "y", "z"))) == "other channel labels"
