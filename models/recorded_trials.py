"""Training examples from this app's own recordings, so a lab retrains on its sessions.

A session's XDF holds the ``PovLab-Markers`` stream (``TRIALID n``, ``!V TRIAL_VAR trial_id/practice``,
``!V IAREA ... <name>`` in AOI order, ``TRIAL_RESULT <code>``) and the ``PovLab-Fixations`` stream
(``trial_number``, ``aoi_index`` 1-based as in IAREA, -1 off; ``duration`` s; ``onset`` LSL s), see
``app/core/streams.py`` and ``app/core/markers.py``. AOI names are POV-style (``txt_<word>[k]``, ``vis_<label>``),
so a session trial becomes the same tokens and fixations as a POV release trial. The participant id is the BIDS
``sub-<label>`` found in the file's path (LabRecorder's naming template), else the file's parent folder name.

Image-region features: a session folder holds copies of its protocol (``protocol.toml``) and stimuli, so with a
:class:`~app.inference.region_encoder.RegionEncoder` each trial's object tokens get EfficientNet-Lite0 features of
their boxes (the protocol's AOIs, matched to the recorded AOI names). Trials whose protocol, trial id or AOIs do
not match the recording get none (zeros), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.core.answered_trials import answered_trials
from app.core.errors import PovLabError, RecordingError
from app.core.layout import layout_trial
from app.core.pov_release import clean_label, token_for_label
from app.core.protocol import Protocol, load_protocol
from app.core.streams import FIXATIONS, MARKERS
from app.inference.region_encoder import RegionEncoder
from models.data import Example


def trials_from_streams(markers: Sequence[str], fixations: np.ndarray, participant: str, source: str,
                        include_practice: bool = True,
                        regions: Callable[[str, Sequence[str]], np.ndarray | None] | None = None) -> list[Example]:
    """Examples from a session's marker strings (time order) and fixation samples ([N, 6] as ``FIXATIONS``).

    ``regions(trial_id, aoi_names)``, when given, returns the trial's image-region features or None."""
    out = []
    for tr in answered_trials(markers, fixations):
        if not include_practice and tr.practice:
            continue
        tokens = tuple(token_for_label(a) for a in tr.aoi_names)
        out.append(Example(tokens, tr.fixations, participant, tr.trial_id, tr.answer, source,
                           regions(tr.trial_id, tr.aoi_names) if regions is not None else None))
    return out


def participant_of(path: Path) -> str:
    m = re.search(r"sub-([A-Za-z0-9]+)", str(path))
    return m.group(1) if m else path.parent.name


def find_protocol(xdf: Path, root: Path) -> Path | None:
    """The ``protocol.toml`` copy nearest to a recording: its folder, then its parents up to ``root``."""
    for folder in (xdf.parent, *xdf.parent.parents):
        if (folder / "protocol.toml").is_file():
            return folder / "protocol.toml"
        if folder == root:
            break
    return None


def trial_regions(protocol: Protocol, trial_id: str, names: Sequence[str], encoder: RegionEncoder
                  ) -> np.ndarray | None:
    """[T, REGION_DIM] features for a recorded trial's AOIs (zeros for words), or None when the protocol's trial
    does not produce exactly the recorded AOI names."""
    trial = next((t for t in protocol.all_trials if t.trial_id == trial_id), None)
    if trial is None:
        return None
    lay = layout_trial(protocol, trial)
    if [clean_label(a.name) for a in lay.aois] != list(names):
        return None
    return encoder.encode_trial(lay, trial)


def region_source(protocol_path: Path | None, encoder: RegionEncoder
                  ) -> Callable[[str, Sequence[str]], np.ndarray | None] | None:
    """``regions(trial_id, aoi_names)`` for :func:`trials_from_streams` from a session's protocol copy, or None when
    there is none or it no longer loads (then the session trains on gaze and words only)."""
    if protocol_path is None:
        return None
    try:
        protocol = load_protocol(protocol_path)
    except PovLabError:
        return None
    return lambda trial_id, names: trial_regions(protocol, trial_id, names, encoder)


def session_examples(folder: str | Path, region_encoder: RegionEncoder | None = None) -> list[Example]:
    """Examples from every ``*.xdf`` under ``folder`` (recursively); with ``region_encoder``, image-region
    features from the session folder's protocol and stimuli where they match."""
    from app.formats.xdf_reader import read_session_xdf

    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"{root}: sessions folder not found")
    files = sorted(root.rglob("*.xdf"))
    if not files:
        raise RecordingError(f"{root}: no .xdf recordings found (looked recursively)")
    out: list[Example] = []
    for f in files:
        contents = read_session_xdf(f)
        mk = contents.get(MARKERS.name)
        fx = contents.get(FIXATIONS.name)
        if mk is None or fx is None:
            raise RecordingError(f"{f}: needs the {MARKERS.name} and {FIXATIONS.name} streams to train on")
        texts = [s[0] for s in mk.time_series] if isinstance(mk.time_series, list) else []
        regions = region_source(find_protocol(f, root), region_encoder) if region_encoder is not None else None
        out += trials_from_streams(texts, np.asarray(fx.time_series), participant_of(f), str(f), regions=regions)
    return out
