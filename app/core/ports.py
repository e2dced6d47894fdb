"""Ports: what the session needs from the outside world, as typed interfaces (structural Protocols).

The session (``app/session``) is written against these; the concrete parts live in the adapters
(``app/acquisition`` for LSL trackers, ...) and the entry layer (``app/commands``) wires them in.
A test can hand the session a fake that implements the same methods.

The tracker: :class:`TrackerConnector` finds (or starts) it and gives a :class:`TrackerConnection`.

The live path (:class:`app.session.live.LivePipeline`; its unit test drives it with fakes, no LSL, no ONNX):

- :class:`GazeSource`: the samples the acquisition thread has written (:class:`app.core.gaze.GazeRingBuffer`);
  a reader takes what arrived since its index and can block until more arrives (event-driven, no polling).
- :class:`OnlineEventDetector`: push a chunk of samples, get the events it completed
  (:class:`app.detection.online.OnlineDetector`, or any other online detector).
- :class:`LiveModel`: the trial's fixations so far -> answer probabilities
  (:class:`app.inference.predictor.LivePredictor`).
- :class:`SampleOutlet`: one sample out (markers, fixations, predictions; :class:`app.acquisition.outlets.Outlet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import NDArray

from app.core.gaze import GazeBlock
from app.core.gaze_events import GazeEvent
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

    @property
    def channels_mapped(self) -> bool:
        """Whether the stream's channels were mapped before it was published (a replay maps its file's channels
        when it reads the file): the session's ``--channels``/``--preset`` then do not apply to it."""
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


class GazeSource(TypingProtocol):
    """Gaze samples in arrival order, read by running index (samples ever written)."""

    @property
    def total_written(self) -> int:
        """Samples written so far (a reader's starting index)."""
        ...

    def since(self, total_index: int) -> tuple[GazeBlock, int]:
        """Samples written after ``total_index``, and the index to pass next time."""
        ...

    def wait_for_new(self, total_index: int, timeout: float) -> bool:
        """Block until samples after ``total_index`` exist (True), or ``timeout`` s pass or :meth:`wake` is called."""
        ...

    def wake(self) -> None:
        """Wake the readers blocked in :meth:`wait_for_new` (a reader being stopped)."""
        ...


class OnlineEventDetector(TypingProtocol):
    """Streaming event detection: each chunk in, the events that chunk completed out."""

    def feed(self, block: GazeBlock) -> Sequence[GazeEvent]:
        """Add samples later than all before; returns the events (fixations, saccades, ...) they completed."""
        ...


class LiveModel(TypingProtocol):
    """The live model: a trial's completed fixations -> probabilities of (yes, no, unclear)."""

    def update(self, trial_id: str, participant_id: str, fixations: Sequence[tuple[int, float]]
               ) -> NDArray[np.float64] | Sequence[float]:
        """``fixations``: (aoi_index, duration_s) in time order, aoi_index -1 off every AOI; 3 probabilities."""
        ...


class SampleOutlet(TypingProtocol):
    """One stream out (LSL in the app): one sample per call, stamped ``timestamp`` (LSL clock s) or now."""

    def push(self, values: str | Sequence[float], timestamp: float | None = None) -> None:
        ...
