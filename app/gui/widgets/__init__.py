"""Widgets of the operator window: they only show what they are given (no I/O, no session calls)."""
