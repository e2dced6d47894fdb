"""The options every command that reads a gaze file shares: which stream, and how its channels map."""

from __future__ import annotations

import argparse


def add_gaze_file_args(p: argparse.ArgumentParser, stream: bool = True) -> None:
    if stream:
        p.add_argument("--stream", default=None, metavar="NAME",
                       help="which stream of an XDF file, by name or source_id (default: the gaze stream)")
    p.add_argument("--channels", default=None, metavar="MAP",
                   help="channel mapping, e.g. left_x=0,left_y=1,right_x=2,right_y=3[,unit=normalized] "
                        "(default: the file's channel metadata or a vendor layout)")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="vendor channel layout for undescribed streams (tobii, pupil, eyelink)")
