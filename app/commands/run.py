"""``povlab run`` and ``povlab demo``: record a whole session, print the session folder last."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.core.paths import BUNDLED_MODEL, DEMO_PROTOCOL
from app.core.presenting import Presenter


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("sessions"), help="root folder of the recordings (default: sessions)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop the session after S seconds")
    p.add_argument("--headless", action="store_true", help="no window: the timed presenter (default without a display)")
    p.add_argument("--presenter", choices=("headless", "psychopy"), default=None,
                   help="participant screen: psychopy (a window) or headless (timed, windowless)")
    p.add_argument("--windowed", action="store_true", help="psychopy presenter in a window instead of full screen")
    p.add_argument("--no-model", action="store_true", help="record without live predictions")
    p.add_argument("--model", type=Path, default=BUNDLED_MODEL, help="ONNX model for live predictions")
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated tracker and participant")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.commands.gaze_args import add_gaze_file_args

    p = sub.add_parser("run", help="record a session (prints the session folder on its last line)")
    p.add_argument("--protocol", type=Path, required=True, help="protocol TOML file")
    p.add_argument("--participant", required=True, help="participant label (letters and digits)")
    p.add_argument("--session", default="01", help="session label (default 01)")
    p.add_argument("--task", default="pov", help="task label (default pov)")
    p.add_argument("--tracker", default="sim",
                   help="sim | lsl (the one gaze stream) | lsl:NAME | lsl-id:SOURCE_ID | replay:FILE (default sim)")
    p.add_argument("--tracker-timeout", type=float, default=5.0, metavar="S", help="wait this long for the stream")
    add_gaze_file_args(p)  # --stream: which stream of the XDF file of --tracker replay:FILE
    p.add_argument("--sim-rate", type=float, default=1000.0, help="simulated tracker rate in Hz (60-2000)")
    p.add_argument("--simulate-participant", action="store_true",
                   help="answer trials automatically after a plausible delay (headless runs always do)")
    _common(p)
    p.set_defaults(func=run)

    d = sub.add_parser("demo", help="a whole session on the built-in defaults: simulated tracker, demo protocol, "
                       "bundled model, simulated participant")
    _common(d)
    d.set_defaults(func=demo)


def run(args: argparse.Namespace) -> int:
    if args.seed is not None and not 0 <= args.seed < 2**63:  # numpy refuses a negative seed with a ValueError
        from app.core.errors import PovLabError

        raise PovLabError(f"--seed must be an integer from 0 to 2**63 - 1, got {args.seed}")
    from app.acquisition.tracker_spec import LslTrackerConnector, parse_tracker_spec
    from app.session.lsl_parts import lsl_parts
    from app.session.runner import Session, SessionConfig

    presenter_kind = "headless" if args.headless else (args.presenter or "headless")
    tracker = LslTrackerConnector(parse_tracker_spec(args.tracker), sim_rate_hz=args.sim_rate, seed=args.seed,
                                  timeout_s=args.tracker_timeout, mapping=args.channels, preset=args.preset,
                                  stream=args.stream)
    config = SessionConfig(
        protocol_path=args.protocol, participant=args.participant, session=args.session, task=args.task,
        out=args.out, duration_s=args.duration, model=None if args.no_model else args.model,
        tracker_timeout_s=args.tracker_timeout, channels=args.channels, preset=args.preset)
    simulate = args.simulate_participant or presenter_kind == "headless"
    presenter = _presenter(presenter_kind, simulate, args.windowed, args.seed)
    session = Session(config, presenter, listener=_progress, tracker=tracker, parts=lsl_parts())
    try:
        session.prepare()
        if hasattr(presenter, "open"):
            presenter.open(session.protocol)
        acq = session.acquisition
        print(f"tracker {acq.stream.name} ({acq.stream.source_id or 'no source_id'}): {acq.channel_map.describe()}",
              file=sys.stderr)
        result = session.run()
    finally:
        session.close()
        if hasattr(presenter, "close"):
            presenter.close()
    m = result.meta
    agreement = "n/a" if m.agreement is None else f"{m.agreement:.0%}"
    received, lost = (0, 0) if m.counters is None else (m.counters.received, m.counters.lost)
    print(f"session {result.status}: {m.n_trials_done} trials, {m.n_fixations} fixations, "
          f"{received} gaze samples ({lost} lost), model agreement {agreement}", file=sys.stderr)
    print(result.folder)
    return 0 if result.status.ok else 2


def demo(args: argparse.Namespace) -> int:
    if not args.headless and _has_display():
        from app.commands.gui import run_demo_window

        return run_demo_window(args)
    args.protocol, args.participant, args.session, args.task = DEMO_PROTOCOL, "demo", "01", "pov"
    args.tracker, args.tracker_timeout, args.channels, args.preset, args.sim_rate = "sim", 5.0, None, None, 1000.0
    args.simulate_participant, args.stream = True, None
    return run(args)


def _has_display() -> bool:
    on_screen = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return on_screen and os.environ.get("QT_QPA_PLATFORM", "") not in ("offscreen", "minimal")


def _presenter(kind: str, simulate: bool, windowed: bool, seed: int | None) -> Presenter:
    if kind == "psychopy":
        from app.presentation.presenter import PsychoPyPresenter

        return PsychoPyPresenter(simulate_participant=simulate, windowed=True if windowed else None, sim_seed=seed)
    from app.presentation.headless import HeadlessPresenter

    return HeadlessPresenter(simulate_participant=simulate, seed=seed)


def _progress(event: object) -> None:
    from app.session.updates import SessionStarted, SessionWarning, TrialFinished, ValidationMeasured

    if isinstance(event, SessionStarted):
        print(f"recording to {event.xdf} (tracker {event.tracker}, model on {event.provider or 'none'})",
              file=sys.stderr)
    elif isinstance(event, TrialFinished):
        o = event.outcome
        pred = f", model said {event.predicted}" if event.predicted else ""
        print(f"trial {o.number} {o.trial_id}: {o.response}{pred}", file=sys.stderr)
    elif isinstance(event, ValidationMeasured):
        print(event.summary, file=sys.stderr)
    elif isinstance(event, SessionWarning):
        print(f"warning: {event.message}", file=sys.stderr)
