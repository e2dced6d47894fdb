"""``povlab`` command line: the one place that wires concrete parts together.

Errors of the :class:`PovLabError` family become one line on stderr and exit code 2.
Anything unexpected becomes one line too, with the traceback written to a log file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path

from app import __version__
from app.core.errors import PovLabError
from app.core.paths import LSL_CONFIG


def configure_lsl(network: bool = False) -> None:
    """Point liblsl at the loopback-only config unless the user chose otherwise.

    Must run before pylsl is first imported. A lab installation opts in to its
    network scope with ``--lsl-network`` or ``POVLAB_LSL_NETWORK=1``, or by setting
    ``LSLAPICFG`` to its own file.
    """
    if network or os.environ.get("POVLAB_LSL_NETWORK") == "1":
        return
    os.environ.setdefault("LSLAPICFG", str(LSL_CONFIG))


def build_parser() -> argparse.ArgumentParser:
    from app.commands import COMMAND_MODULES

    parser = argparse.ArgumentParser(prog="povlab", description="POV Lab: eye-tracking sessions with live "
                                     "perception-guided predictions.")
    parser.add_argument("--version", action="version", version=f"povlab {__version__}")
    parser.add_argument("--lsl-network", action="store_true",
                        help="use the lab network for LSL (default: this machine only, via lsl_api.cfg)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    configure_lsl(network="--lsl-network" in args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args) or 0)
    except PovLabError as exc:
        print(f"povlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("povlab: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, details in a file
        log = Path(tempfile.gettempdir()) / f"povlab-crash-{os.getpid()}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"povlab: internal error: {type(exc).__name__}: {exc} (details in {log})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
