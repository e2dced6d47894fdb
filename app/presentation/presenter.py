"""The session's side of the participant screen: :class:`PsychoPyPresenter`.

It implements :class:`app.core.presenting.Presenter`. The PsychoPy window lives in a child
process (``multiprocessing`` ``spawn`` context), so the operator's window stays responsive
and a crash on one side cannot take down the other. Use::

    presenter = PsychoPyPresenter(simulate_participant=True, windowed=True)
    presenter.open(protocol)        # pre-flight + window: one clear error before the session starts
    presenter.validate(protocol, marker_sink, stop_event)   # optional, repeatable; window stays open
    outcomes = presenter.run(protocol, marker_sink, stop_event, on_trial)   # closes the window
    presenter.toggle_pause()        # from the operator's window, any time during run()

The child stamps every screen change at its flip on the LSL clock (see
:mod:`app.presentation.child`); this side pushes those markers to the sink with the child's
time stamps, so the delay of the pipe does not enter the recording.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.errors import PresentationError
from app.core.presenting import MarkerSink, TrialOutcome
from app.core.protocol import Protocol
from app.presentation.messages import (
    Abort,
    Begin,
    Failed,
    Finished,
    Flipped,
    PresenterOptions,
    Ready,
    TogglePause,
    TrialDone,
)
from app.presentation.preflight import preflight, require_display, require_psychopy

ABORT_GRACE_S = 5.0  # how long the child may take to show ABORT before it is terminated


@dataclass(frozen=True)
class FlipRecord:
    """One flip as relayed: what it showed, its stamp, the LSL clock after the flip and after the push."""

    kind: str
    markers: tuple[str, ...]
    timestamp: float
    lsl_after_flip: float
    pushed_at: float


class PsychoPyPresenter:
    """The participant screen in its own process; see the module docstring."""

    def __init__(self, options: PresenterOptions | None = None, **overrides: Any) -> None:
        base = options or PresenterOptions()
        self.options = dataclasses.replace(base, **overrides) if overrides else base
        self.flips: list[FlipRecord] = []
        self.ready: Ready | None = None
        self._proc: Any = None
        self._conn: Any = None
        self._protocol: Protocol | None = None
        self._send_lock = threading.Lock()  # toggle_pause() may come from another thread than run()

    # -- lifecycle ---------------------------------------------------------------------
    def open(self, protocol: Protocol) -> Ready:
        """Pre-flight the protocol and open the window (the child waits for :meth:`run`)."""
        if self._proc is not None and self._protocol == protocol and self.ready is not None:
            return self.ready
        self.close()
        preflight(protocol)
        require_psychopy()
        display = require_display(self.options.display)
        from app.presentation.child import child_main

        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe()
        opts = dataclasses.replace(self.options, display=display)
        self._proc = ctx.Process(target=child_main, args=(child_conn, protocol, opts),
                                 name="povlab-participant-screen", daemon=True)
        self._proc.start()
        child_conn.close()
        self._conn, self._protocol = parent_conn, protocol
        deadline = time.monotonic() + self.options.ready_timeout_s
        msg = None
        while msg is None:
            try:
                msg = self._receive(0.05, "while opening the window")
            except PresentationError:
                self.close()
                raise
            if msg is None and time.monotonic() > deadline:
                self.close()
                raise PresentationError(f"the participant screen did not open within "
                                        f"{self.options.ready_timeout_s:g} s")
        if isinstance(msg, Failed):
            self.close()
            raise PresentationError(msg.message)
        if not isinstance(msg, Ready):
            self.close()
            raise PresentationError(f"the participant screen sent {type(msg).__name__} before it was ready")
        self.ready = msg
        return msg

    def close(self) -> None:
        """Let the child finish (or end it) and release the pipe. Safe to call twice."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = self._protocol = None
        self.ready = None
        if proc is None:
            return
        if proc.is_alive():
            try:
                with self._send_lock:
                    conn.send(Abort())
            except (BrokenPipeError, OSError):
                pass  # the child is already leaving; join/terminate below
            proc.join(ABORT_GRACE_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(ABORT_GRACE_S)
        conn.close()

    def _receive(self, timeout: float, when: str) -> Any:
        """The next message, or None after ``timeout``; PresentationError when the child died."""
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._died(when) from exc
        if not self._proc.is_alive() and not self._conn.poll():
            raise self._died(when)
        return None

    def _died(self, when: str) -> PresentationError:
        code = None
        if self._proc is not None:
            self._proc.join(2.0)
            code = self._proc.exitcode
        how = ("its pipe closed" if code is None else f"killed by signal {-code}" if code < 0
               else f"exit code {code}")
        return PresentationError(f"the participant screen process stopped unexpectedly {when} ({how})")

    # -- the Presenter interface ---------------------------------------------------------
    def run(self, protocol: Protocol, markers: MarkerSink, stop: threading.Event,
            on_trial: Callable[[TrialOutcome], None]) -> list[TrialOutcome]:
        """Show the protocol; relay flip-stamped markers; return the finished trials. Closes the window."""
        try:
            self.open(protocol)
            self._send(Begin())
            return self._relay(markers, stop, on_trial)
        finally:
            self.close()

    def validate(self, protocol: Protocol, markers: MarkerSink, stop: threading.Event) -> bool:
        """Show only the validation targets (again); the window stays open. False when aborted.

        Compute the figures afterwards from the recorded gaze with
        :func:`app.core.validation.compute_validation` and the last run of
        :func:`app.core.validation.validation_runs`.
        """
        self.open(protocol)
        self._send(Begin(validation_only=True))
        aborted: list[bool] = []
        self._relay(markers, stop, lambda o: None, aborted)
        if aborted and aborted[0]:
            self.close()
            return False
        return True

    def toggle_pause(self) -> None:
        """The operator's pause button: pause after the current trial, or resume when paused."""
        self._send(TogglePause())

    def _send(self, msg: object) -> None:
        with self._send_lock:
            conn = self._conn
            if conn is not None:
                conn.send(msg)

    def _relay(self, markers: MarkerSink, stop: threading.Event, on_trial: Callable[[TrialOutcome], None],
               aborted: list[bool] | None = None) -> list[TrialOutcome]:
        """Push the child's markers and report its trials until it says Finished."""
        outcomes: list[TrialOutcome] = []
        abort_deadline: float | None = None
        while True:
            if stop.is_set() and abort_deadline is None:
                self._send(Abort())
                abort_deadline = time.monotonic() + ABORT_GRACE_S
            try:
                msg = self._receive(0.02, f"after {len(outcomes)} trials")
            except PresentationError:
                markers.push("ABORT", markers.clock())
                raise
            if msg is None:
                if abort_deadline is not None and time.monotonic() > abort_deadline:
                    markers.push("ABORT", markers.clock())
                    if aborted is not None:
                        aborted.append(True)
                    return outcomes
                continue
            if isinstance(msg, Flipped):
                for text in msg.markers:
                    markers.push(text, msg.timestamp)
                self.flips.append(FlipRecord(msg.kind, msg.markers, msg.timestamp, msg.lsl_after_flip,
                                             markers.clock()))
            elif isinstance(msg, TrialDone):
                outcomes.append(msg.outcome)
                on_trial(msg.outcome)
            elif isinstance(msg, Finished):
                if aborted is not None:
                    aborted.append(msg.aborted)
                return outcomes
            elif isinstance(msg, Failed):
                markers.push("ABORT", markers.clock())
                raise PresentationError(msg.message)
