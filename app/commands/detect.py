"""``povlab detect INPUT --events-out EVENTS.tsv``: fixations, saccades, PSOs and blinks offline.

INPUT is an XDF file (LabRecorder or any LSL app; ``--stream NAME`` chooses the stream), an
EyeLink EDF or ASC file, a CSV with the header ``time,x,y``, or a BIDS eye-tracking physio file
with its JSON sidecar (see :mod:`app.formats.gazefile`). Channels are mapped as a live session
maps them (``--channels``/``--preset``, else the file's metadata or a vendor layout). The
events go to EVENTS.tsv (BIDS physioevents columns plus position, amplitude and peak velocity)
with every parameter in the JSON sidecar beside it; ``--samples-out`` writes one label per
input sample. Where the file holds the tracker's own parser events (EyeLink EFIX), the
sample-level fixation agreement with them is printed per eye.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from app.core.errors import GazeDataError, PovLabError
from app.core.geometry import ScreenGeometry


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.commands.gaze_args import add_gaze_file_args
    from app.detection.methods import DEFAULT_METHOD, METHOD_DESCRIPTIONS

    p = sub.add_parser("detect", help="detect gaze events in a recording (XDF, EDF, ASC, CSV or BIDS physio)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, metavar="INPUT",
                   help=".xdf, .edf, .asc, time,x,y .csv, or BIDS *_physio.tsv[.gz] with sidecar")
    p.add_argument("--events-out", type=Path, required=True, metavar="EVENTS.tsv")
    p.add_argument("--samples-out", type=Path, metavar="SAMPLES.tsv", help="one label per input row")
    p.add_argument("--method", default=DEFAULT_METHOD, choices=sorted(METHOD_DESCRIPTIONS),
                   help="; ".join(f"{k}: {v}" for k, v in METHOD_DESCRIPTIONS.items()) + f" (default {DEFAULT_METHOD})")
    p.add_argument("--screen-px", type=int, nargs=2, metavar=("W", "H"))
    p.add_argument("--screen-cm", type=float, nargs=2, metavar=("W", "H"))
    p.add_argument("--distance-cm", type=float, metavar="D")
    p.add_argument("--rate", type=float, metavar="HZ",
                   help="nominal sampling rate (default: the file's, else 1 / median sample interval)")
    add_gaze_file_args(p)
    p.set_defaults(func=run)


def _geometry(args: argparse.Namespace, from_file: ScreenGeometry | None,
              px_from_file: tuple[int, int] | None) -> tuple[ScreenGeometry, bool]:
    given = [args.screen_px, args.screen_cm, args.distance_cm]
    if all(v is None for v in given):
        if from_file is not None:
            return from_file, False
        if px_from_file is not None:
            return replace(ScreenGeometry(), width_px=px_from_file[0], height_px=px_from_file[1]), True
        return ScreenGeometry(), True
    if any(v is None for v in given):
        raise GazeDataError("detect: give --screen-px W H, --screen-cm W H and --distance-cm D together")
    from app.core.protocol_schema import LIMITS

    for key, value in (("width_px", args.screen_px[0]), ("height_px", args.screen_px[1]),
                       ("width_cm", args.screen_cm[0]), ("height_cm", args.screen_cm[1]),
                       ("distance_cm", args.distance_cm)):
        low, high = LIMITS[f"screen.{key}"]
        if not low < value <= high:
            raise GazeDataError(f"detect: screen {key} must be above {low:g} and at most {high:g}, got {value!r}")
    return ScreenGeometry(args.screen_px[0], args.screen_px[1], args.screen_cm[0], args.screen_cm[1],
                          args.distance_cm), False


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from app.detection.parser_agreement import fixation_agreement
    from app.detection.pipeline import detect
    from app.formats.bids_physio_reader import sidecar_path
    from app.formats.detect_output import write_events, write_samples
    from app.formats.gazefile import check_rate as check_rate_hz
    from app.formats.gazefile import map_recording, read_recording

    try:
        src = args.input.resolve()
        outs = [p for p in (args.events_out, args.samples_out) if p is not None]
        protected = {src, sidecar_path(src).resolve()}
        for out in outs + [sidecar_path(args.events_out)]:
            if out.resolve() in protected:
                raise GazeDataError(f"detect: {out} would overwrite the input; choose another output path")
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
        raise GazeDataError(f"detect: cannot use the path ({exc})") from exc
    if args.rate is not None:
        check_rate_hz(args.rate, "detect: --rate")
    rec = read_recording(args.input, stream=args.stream, rate=args.rate)
    try:
        geometry, assumed = _geometry(args, rec.geometry, rec.screen_px)
    except PovLabError as exc:
        raise GazeDataError(f"detect: {exc}") from exc
    mapped = map_recording(rec, args.channels, args.preset, (geometry.width_px, geometry.height_px))
    for note in rec.notes:
        print(f"povlab detect: {note}", file=sys.stderr)
    if rec.format == "xdf" or args.channels or args.preset or mapped.inferred:
        print(f"povlab detect: stream {rec.name!r}: channel map from {mapped.how}", file=sys.stderr)
    if assumed:
        print(f"povlab detect: no screen geometry given; assuming {geometry} (pass --screen-px/--screen-cm/"
              "--distance-cm)", file=sys.stderr)
    rate = args.rate if args.rate is not None else (rec.rate_hz or None)
    block = mapped.block
    t = block.t
    if len(t) > 1 and float(np.median(np.diff(t))) >= 0.1:
        print(f"povlab detect: samples are {float(np.median(np.diff(t))):g} s apart; times must be in seconds "
              "(is the time column in milliseconds?)", file=sys.stderr)
    if args.rate is None and rec.format == "xdf" and rate and len(t) > 1:
        from app.detection.velocity import check_rate

        try:
            check_rate(rate, t)
        except GazeDataError:  # an LSL stream's nominal rate is advisory; its time stamps are measured
            print(f"povlab detect: stream {rec.name!r} declares {rate:g} Hz but its time stamps say "
                  f"{1 / float(np.median(np.diff(t))):.4g} Hz; using the time stamps", file=sys.stderr)
            rate = None
    result = detect(block, geometry, method=args.method, rate_hz=rate)
    side = write_events(args.events_out, result)
    if args.samples_out is not None:
        write_samples(args.samples_out, block.t, result)
    counts = {k: len(result.of_kind(k)) for k in ("fixation", "saccade", "pso", "blink", "track_loss")}
    print(f"{args.events_out}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + f" ({args.method}, {len(block)} samples); parameters in {side}")
    if rec.events:
        for agreement in fixation_agreement(mapped.eyes, rec.events, geometry, args.method, rate):
            print(agreement.line())
    return 0
