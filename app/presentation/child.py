"""The participant screen's process: a PsychoPy window that shows the protocol.

Started by :class:`app.presentation.presenter.PsychoPyPresenter` with the ``spawn`` context;
everything it says goes through the pipe as messages of :mod:`app.presentation.messages`.

Order of screens: instructions (until a key), validation of the calibration (5 or 9 targets),
then each trial (practice first): fixation cross, stimulus until an answer key or the time
limit, blank for the inter-trial interval. The operator's pause key takes effect at the end of
the current trial (``PAUSE`` ... ``RESUME``); the abort key (or :class:`Abort` from the
parent) ends the run at once with ``ABORT``.

Time stamps: ``win.flip()`` returns PsychoPy's clock at the flip (after the buffer swap, at
the vertical blank when the driver syncs to it); right after it the offset between the LSL
clock (``pylsl.local_clock()``) and PsychoPy's clock is read (two PsychoPy reads bracket one
LSL read, so the error is the length of that bracket, ~1 us) and added, so the marker's time
stamp is the flip time on the LSL clock. Key presses carry PsychoPy's time of the key event
and reaction times are measured from the stimulus flip on the same clock.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from typing import Any

from app.core.answers import ANSWERS
from app.core.errors import PovLabError, PresentationError
from app.core.markers import response_markers, trial_start_markers
from app.core.presenting import TrialOutcome
from app.core.protocol import Protocol, Responses, Trial
from app.core.validation import VALIDATION_END, target_positions, validation_target_marker
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
from app.presentation.preflight import preflight
from app.presentation.simulated import SimulatedParticipant

PRACTICE_OVER = "The practice is over. The experiment starts now.\n\nPress any key to start."
VALIDATION_INTRO = "Look at the centre of each dot until it moves."


class _AbortedError(Exception):
    """Raised inside the run when the operator aborts (key or message)."""


def key_action(key: str, responses: Responses) -> str | None:
    """What a key means: 'abort', 'pause', an answer (yes/no/unclear) or None (any other key)."""
    if key == responses.abort:
        return "abort"
    if key == responses.pause:
        return "pause"
    return responses.answer_for_key(key)


def open_window(protocol: Protocol, options: PresenterOptions) -> Any:
    """Open the PsychoPy window; PresentationError with one line when it cannot be opened."""
    from psychopy import prefs

    prefs.general["winType"] = "pyglet"
    for key in ("allowUsageStats", "checkForUpdates"):  # never reach out to the network
        if key in prefs.connections:
            prefs.connections[key] = False
    s, d = protocol.screen, protocol.display
    fullscr = d.fullscreen if options.windowed is None else not options.windowed
    display = f"display {os.environ.get('DISPLAY', '(default)')!r}"
    where = f"{display}, screen {d.screen_index}"

    def cannot(exc: Exception) -> PresentationError:
        return PresentationError(f"cannot open the participant screen on {where}: {type(exc).__name__}: {exc}")

    try:  # importing psychopy.visual already connects to the display (pyglet's shadow window)
        import pyglet
        from psychopy import logging, monitors, visual

        logging.console.setLevel(logging.ERROR)
        n_screens = len(pyglet.canvas.get_display().get_screens())
    except Exception as exc:  # pyglet and GL raise many kinds; one line for the operator
        raise cannot(exc) from exc
    if d.screen_index >= n_screens:  # PsychoPy would silently use screen 0: maybe the operator's
        raise PresentationError(f"the protocol ({protocol.path}) asks for screen.screen_index = {d.screen_index} "
                                f"but {display} has {n_screens} screen(s), numbered from 0")
    try:
        mon = monitors.Monitor("povlab", width=s.width_cm, distance=s.distance_cm, autoLog=False)
        mon.setSizePix((s.width_px, s.height_px))
        win = visual.Window(size=(s.width_px, s.height_px), fullscr=fullscr, screen=d.screen_index,
                            color=d.background, colorSpace="hex", units="pix", allowGUI=not fullscr,
                            winType="pyglet", monitor=mon, checkTiming=False, waitBlanking=True, autoLog=False)
    except Exception as exc:  # as above
        raise cannot(exc) from exc
    got = tuple(int(v) for v in win.size)
    if got != (s.width_px, s.height_px):
        win.close()
        raise PresentationError(f"the participant screen on {where} is {got[0]}x{got[1]} px but the protocol "
                                f"({protocol.path}) says screen.width_px x height_px = {s.width_px}x{s.height_px}; "
                                "AOIs would not match what is shown")
    win.mouseVisible = False
    return win


class Runner:
    """Shows one protocol in one window and reports through ``conn``."""

    def __init__(self, conn: Any, protocol: Protocol, options: PresenterOptions) -> None:
        self.conn, self.protocol, self.options = conn, protocol, options
        self.layouts = preflight(protocol)
        self.win = open_window(protocol, options)
        from psychopy import core, event
        from pylsl import local_clock

        from app.presentation.screens import Screens

        self.core, self.event, self.local_clock = core, event, local_clock
        self.screens = Screens(self.win, protocol)
        self.sim = (SimulatedParticipant(options.sim_seed, rt_median_s=options.sim_rt_median_s)
                    if options.simulate_participant else None)
        # measured over up to 60 flips; None when the flips are too irregular to tell (no vsync)
        rate = self.win.getActualFrameRate(nIdentical=10, nMaxFrames=60, nWarmUpFrames=5, threshold=1)
        self.refresh_hz = float(rate) if rate else None
        self.saved: set[str] = set()
        self.pause_requested = False
        self.stim_on = False

    # -- time and flips -------------------------------------------------------------
    def lsl_offset(self) -> float:
        """LSL clock minus PsychoPy's clock, read now (one LSL read between two PsychoPy reads)."""
        a = self.core.getTime()
        lsl = self.local_clock()
        b = self.core.getTime()
        return float(lsl - (a + b) / 2)

    def flip(self, markers: list[str], kind: str) -> tuple[float, float]:
        """Show the back buffer; returns (PsychoPy time, LSL time) of the flip."""
        if self.options.frames_dir is not None and kind not in self.saved:
            self.saved.add(kind)
            frame = self.win.getMovieFrame(buffer="back")
            self.win.movieFrames.clear()
            self.options.frames_dir.mkdir(parents=True, exist_ok=True)
            frame.save(self.options.frames_dir / f"{kind}.png")
        t = float(self.win.flip())
        ts = t + self.lsl_offset()
        after = float(self.local_clock())
        if markers:
            self.conn.send(Flipped(tuple(markers), ts, after, kind))
        return t, ts

    def poll_parent(self) -> list[str]:
        """Actions sent by the parent: raises on Abort, returns 'pause' for TogglePause."""
        actions = []
        while self.conn.poll():
            msg = self.conn.recv()
            if isinstance(msg, Abort):
                raise _AbortedError
            if isinstance(msg, TogglePause):
                actions.append("pause")
        return actions

    def wait(self, until: float, *, answers: bool = False, any_key: bool = False, pause_returns: bool = False,
             sim_at: float | None = None) -> tuple[str, float] | None:
        """Poll keys and the parent until ``until`` (PsychoPy time); returns (action, key time) or None."""
        while True:
            now = self.core.getTime()
            pressed: list[tuple[str | None, float]] = [(a, now) for a in self.poll_parent()]
            pressed += [(key_action(key, self.protocol.responses), t) for key, t in self.event.getKeys(timeStamped=True)]
            for action, t in pressed:
                if action == "abort":
                    raise _AbortedError
                if action == "pause":
                    if pause_returns:
                        return "pause", t
                    self.pause_requested = not self.pause_requested  # pressed twice: never mind
                elif answers and action is not None and action in ANSWERS:
                    return action, t
                elif any_key:
                    return "key", t
            now = self.core.getTime()
            if sim_at is not None and now >= sim_at:
                return "sim", sim_at
            if now >= until:
                return None
            time.sleep(min(0.002, until - now))

    # -- screens ---------------------------------------------------------------------
    def text_screen(self, text: str, kind: str) -> None:
        self.screens.draw_text(text)
        t, _ = self.flip([], kind)
        sim_at = t + self.sim.reading_time(text) if self.sim else None
        self.wait(math.inf, any_key=True, sim_at=sim_at)
        self.flip([], "blank")

    def validation(self) -> None:
        if self.options.validation_intro_s > 0:
            self.screens.draw_text(VALIDATION_INTRO)
            t, _ = self.flip([], "validation_intro")
            self.wait(t + self.options.validation_intro_s)
        for k, (x, y) in enumerate(target_positions(self.protocol.screen, self.protocol.validation_targets), 1):
            self.screens.draw_target(x, y)
            t, _ = self.flip([validation_target_marker(k, x, y)], "target")
            self.wait(t + self.options.target_s)
        self.flip([VALIDATION_END], "blank")

    def pause(self) -> None:
        self.pause_requested = False
        self.screens.draw_text(f"Paused. Press {self.protocol.responses.pause.upper()} to continue.")
        self.flip(["PAUSE"], "pause")
        self.wait(math.inf, pause_returns=True)
        self.flip(["RESUME"], "blank")

    def trial(self, number: int, trial: Trial) -> TrialOutcome:
        timing = self.protocol.timing
        layout = self.layouts[trial.trial_id]
        self.screens.prepare_stimulus(trial, layout)  # before the cross, so it lasts what the protocol says
        self.screens.draw_cross()
        t_cross, _ = self.flip([*trial_start_markers(number, trial, layout), "FIXCROSS_ONSET"], "cross")
        self.wait(t_cross + timing.fixation_cross_s)
        self.screens.draw_stimulus()
        t_on, on_lsl = self.flip(["STIM_ONSET"], "stimulus")
        self.stim_on = True
        planned = self.sim.answer(trial, timing.max_trial_s) if self.sim else None
        sim_at = t_on + planned.rt_s if planned is not None and planned.rt_s is not None else None
        got = self.wait(t_on + timing.max_trial_s, answers=True, sim_at=sim_at)
        if got is None:
            answer, rt = "timeout", None
        else:
            answer = planned.answer if got[0] == "sim" and planned is not None else got[0]
            rt = max(0.0, got[1] - t_on)
        t_off, off_lsl = self.flip(["STIM_OFFSET", *response_markers(answer, rt)], "blank")
        self.stim_on = False
        outcome = TrialOutcome(number, trial.trial_id, trial.practice, on_lsl, off_lsl, answer, rt)
        self.conn.send(TrialDone(outcome))
        self.wait(t_off + timing.inter_trial_s)
        return outcome

    def run(self, validation_only: bool = False) -> bool:
        """Show everything (or only the validation); True when aborted."""
        p = self.protocol
        try:
            if validation_only:
                self.validation()
                return False
            if p.instructions.strip():
                self.text_screen(p.instructions.strip(), "instructions")
            if self.options.validation:
                self.validation()
            for number, trial in enumerate(p.all_trials, start=1):
                if p.practice and number == len(p.practice) + 1:
                    self.text_screen(PRACTICE_OVER, "practice_over")
                self.trial(number, trial)
                if self.pause_requested:
                    self.pause()
            return False
        except _AbortedError:
            self.flip((["STIM_OFFSET"] if self.stim_on else []) + ["ABORT"], "blank")
            return True

    def close(self) -> None:
        self.win.close()


def child_main(conn: Any, protocol: Protocol, options: PresenterOptions) -> None:
    """Entry point of the participant screen's process."""
    if options.display:
        os.environ["DISPLAY"] = options.display
    runner: Runner | None = None
    try:
        runner = Runner(conn, protocol, options)
        conn.send(Ready(protocol.screen.width_px, protocol.screen.height_px, runner.refresh_hz))
        while True:
            while not conn.poll(0.02):
                runner.event.getKeys()  # keep the window's events flowing while it waits
            msg = conn.recv()
            if not isinstance(msg, Begin):
                break  # Abort before (another) start: close
            aborted = runner.run(msg.validation_only)
            conn.send(Finished(aborted))
            if aborted or not msg.validation_only:
                break
    except PovLabError as exc:
        conn.send(Failed(str(exc)))
    except (EOFError, BrokenPipeError):  # the parent is gone: nobody to report to but stderr
        print("povlab participant screen: the session process went away; closing", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - reported to the session (details on stderr) instead of dying silently
        traceback.print_exc(file=sys.stderr)
        conn.send(Failed(f"the participant screen failed: {type(exc).__name__}: {exc}"))
    finally:
        if runner is not None:
            runner.close()
