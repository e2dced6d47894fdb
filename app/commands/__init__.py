"""Entry layer: one module per ``povlab`` subcommand, wired explicitly in ``app.cli``.

Each module defines ``add_parser(subparsers)`` which registers its parser and sets
``func=run`` where ``run(args) -> int``. Heavy libraries are imported inside ``run``.
"""

from app.commands import bench
from app.commands import bundle as bundle_cmd
from app.commands import compile as compile_cmd
from app.commands import detect as detect_cmd
from app.commands import export as export_cmd
from app.commands import gui as gui_cmd
from app.commands import model as model_cmd
from app.commands import protocol as protocol_cmd
from app.commands import recover as recover_cmd
from app.commands import remote as remote_cmd
from app.commands import replay as replay_cmd
from app.commands import report as report_cmd
from app.commands import run as run_cmd
from app.commands import sim_tracker as sim_tracker_cmd
from app.commands import streams as streams_cmd
from app.commands import study as study_cmd

# Add new subcommand modules here (explicit wiring, no import side effects).
COMMAND_MODULES = [
    run_cmd,
    bench,
    model_cmd,
    protocol_cmd,
    study_cmd,
    report_cmd,
    export_cmd,
    gui_cmd,
    bundle_cmd,
    detect_cmd,
    recover_cmd,
    remote_cmd,
    streams_cmd,
    sim_tracker_cmd,
    replay_cmd,
    compile_cmd,
]
