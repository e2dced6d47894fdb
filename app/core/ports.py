"""Ports: what the session needs from the outside world, as typed interfaces.

The session (``app/session``) is written against these Protocols; the concrete parts live in the
adapters (``app/acquisition`` for LSL trackers, ...) and the entry layer (``app/commands``) wires
them in. A test can hand the session a fake that implements the same methods.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol as TypingProtocol

from app.core.protocol import Protocol


class TrackerConnection(TypingProtocol):
    """A tracker the session reads from: its gaze stream, found and described.

    When the connection started the tracker itself (the simulator, a replay), :meth:`close`
    stops it; for a tracker of its own (an LSL app of the vendor) :meth:`close` does nothing.
    """

    @property
    def spec(self) -> str:
        """How the tracker was chosen, as written into ``session.json`` (``sim``, ``lsl:NAME``, ...)."""
        ...

    @property
    def stream(self) -> Any:
        """The stream as the acquisition opens it (a ``StreamDescription`` for LSL trackers)."""
        ...

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until the tracker can follow the session's markers (at once for a real tracker)."""

    def close(self) -> None:
        """Stop what this connection started (idempotent)."""


class TrackerConnector(TypingProtocol):
    """Connects the tracker of a session once its protocol is loaded (nothing is written yet)."""

    def connect(self, protocol: Protocol, markers_source_id: str) -> TrackerConnection:
        """Find (or start) the tracker; ``markers_source_id`` names the markers stream the session will open."""
        ...
