"""Child process of :mod:`app.formats.edf`: ``python -m app.formats.edf_worker IN.edf OUT.npz``.

SR Research's edfapi (inside eyelinkio) prints on the process's stdout, and a truncated or
corrupt file can crash it (a segmentation fault was seen on a file cut to 100 bytes). It
therefore runs here, in its own process; the parent reads the arrays written to OUT.npz, or
turns the exit status into one error line. Exit 0: written; 3: eyelinkio raised (its message is
the last line on stderr); 4: the file ends inside a recording block (truncated); 5: the file
holds no samples (events only); any other
status or a signal: the library failed.

edfapi reads a file cut short without complaint, up to where it ends. A cleanly closed EDF ends
every recording block with a RECORDING_INFO item of state 0 (recording stopped); the last
block's state is checked with eyelinkio's own bindings of edfapi (``eyelinkio.edf._edf2py``).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np


def scan(src: str) -> tuple[int | None, int]:
    """State of the file's last RECORDING_INFO item (1 recording, 0 stopped; None if none) and its sample count."""
    from eyelinkio.edf._defines import event_constants
    from eyelinkio.edf._edf2py import edf_get_float_data, edf_get_next_data
    from eyelinkio.edf.read_edf import _edf_open

    state, samples = None, 0
    with _edf_open(src) as edf:
        etype = None
        while etype != event_constants.get("NO_PENDING_ITEMS"):
            etype = edf_get_next_data(edf)
            kind = event_constants.get(etype)
            if kind == "SAMPLE_TYPE":
                samples += 1
            elif kind == "RECORDING_INFO":
                state = int(edf_get_float_data(edf).contents.rec.state)
    return state, samples


def _count_samples(src: str) -> int | None:
    try:
        return scan(src)[1]
    except Exception as exc:  # noqa: BLE001 - only explains a failure already caught; that one is reported
        print(f"note: samples not counted ({type(exc).__name__})", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    src, out = argv
    try:
        import eyelinkio
    except ImportError as exc:
        print(f"eyelinkio is not installed ({exc})", file=sys.stderr)
        return 3
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            edf = eyelinkio.read_edf(src)
    except OSError as exc:
        if "Could not open file" in str(exc):
            print("edfapi could not open the file", file=sys.stderr)
        else:
            print(f"OSError: {' '.join(str(exc).split())}", file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        if _count_samples(src) == 0:  # eyelinkio fails on a file of events only; say why
            print("the file holds no samples", file=sys.stderr)
            return 5
        print(f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 3
    try:
        state = scan(src)[0]
    except (ImportError, AttributeError, OSError) as exc:  # eyelinkio's internals moved: skip the check
        print(f"note: recording blocks not checked ({exc})", file=sys.stderr)
        state = None
    if state == 1:
        print("the last recording block has no end", file=sys.stderr)
        return 4
    info = edf["info"]
    discrete = edf["discrete"]
    messages = discrete.get("messages")
    display = np.zeros(0)
    if messages is not None and len(messages):
        for msg in messages["msg"]:
            text = bytes(msg).decode("ascii", "replace")
            if text.startswith("DISPLAY_COORDS"):
                display = np.array([float(v) for v in text.split()[-4:]])
    events: dict[str, Any] = {}
    for kind in ("fixations", "saccades", "blinks"):
        ev = discrete.get(kind)
        if ev is not None and len(ev):
            events[kind] = np.column_stack([ev["eye"], ev["stime"], ev["etime"]]).astype(np.float64)
        else:
            events[kind] = np.zeros((0, 3))
    np.savez(out, **events, samples=np.asarray(edf["samples"], dtype=np.float64), times=np.asarray(edf["times"], np.float64),
             fields=np.array(info.get("sample_fields", []), dtype=str), sfreq=float(info.get("sfreq", 0.0)),
             eye=str(info.get("eye", "")), ps_units=str(info.get("ps_units", "")),
             screen=np.asarray(info.get("screen_coords", np.zeros(0)), dtype=np.float64), display=display,
             version=str(info.get("version", "")), camera=str(info.get("camera", "")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
