"""``povlab export SESSION_DIR --bids OUT_DIR``: a session folder into a BIDS 1.11 dataset.

What goes where (BIDS 1.11, eye-tracking per BEP020, behaviour in ``beh/``)::

    dataset_description.json, README, participants.tsv/.json, stimuli/<images>
    sub-<p>/ses-<s>/beh/sub-<p>_ses-<s>_task-pov_run-<n>_events.tsv/.json   trials (onset relative to run start)
    sub-<p>/ses-<s>/beh/..._recording-eye<k>_physio.tsv.gz/.json          gaze per eye
    sub-<p>/ses-<s>/beh/..._recording-eye<k>_physioevents.tsv.gz/.json    fixations, saccades, blinks, messages
    sourcedata/sub-<p>/ses-<s>/   the XDF and the session's own files, unchanged
    derivatives/povlab/sub-<p>/ses-<s>/beh/..._desc-predictions_beh.tsv/.json  responses and model predictions
    derivatives/povlab/sub-<p>/ses-<s>/beh/..._desc-aoimetrics_beh.tsv/.json   per trial x AOI (docs/studies.md)
    derivatives/povlab/sub-<p>/ses-<s>/beh/..._desc-trialmetrics_beh.tsv/.json per trial

Run start (onset 0 of ``events.tsv``) is the earliest time stamp of the gaze and markers
streams; physio files keep LSL time stamps and give ``StartTime`` relative to it. Exporting
more sessions into the same folder adds to it; a run already there is refused, never overwritten.
Files are written into a hidden staging folder and moved into place at the end, so a failed
export (disk full, damaged input) leaves the dataset as it was.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.core.answers import most_probable
from app.core.errors import BundleError, ProtocolError
from app.core.streams import GAZE_TYPE, MARKERS, PREDICTIONS
from app.core.study_metadata import StudyMetadata, load_study
from app.formats.bids_physio import events_tsv, write_eye_files
from app.formats.xdf_reader import XdfContents, read_session_xdf
from app.runfolder.aoi_report import report_files
from app.runfolder.folder import LABEL, SessionRun, find_runs
from app.runfolder.trial_records import TrialRecord, attach_predictions, parse_markers

BIDS_VERSION = "1.11.0"
HED_VERSION = "8.3.0"  # the HED schema of the tags in events.json
# HED tags of the events (https://www.hedtags.org): what each trial_type is
EVENT_HED = {
    "trial": "Sensory-event, Experimental-stimulus, Visual-presentation, (Image, Sentence)",
    "practice": "Sensory-event, Visual-presentation, (Image, Sentence)",
    "tracker_gap": "Data-feature, Data-artifact",
}


@dataclass
class ExportReport:
    dataset: Path
    runs: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    samples: int = 0


def _gaze_stream(contents: XdfContents, run: SessionRun) -> Any:
    name = run.meta.tracker.name if run.meta.tracker is not None else None
    gaze = contents.get(name) if name else None
    gaze = gaze or contents.by_type(GAZE_TYPE)
    if gaze is None or not len(gaze):
        raise BundleError(f"{run.xdf}: no gaze samples (no stream named {name!r} or of type {GAZE_TYPE})")
    return gaze


def _events_rows(trials: list[TrialRecord], gaps: list[tuple[float, float]], t0: float) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for tr in trials:
        if not np.isfinite(tr.stim_onset):
            continue
        dur = tr.stim_offset - tr.stim_onset if np.isfinite(tr.stim_offset) else None
        rt = tr.rt_ms / 1000 if np.isfinite(tr.rt_ms) else None
        rows.append((tr.stim_onset - t0, dur, "practice" if tr.practice else "trial", tr.number, tr.trial_id or None,
                     f"{tr.image}" if tr.image else None, tr.caption or None, tr.expected or None,
                     tr.response or None, rt))
    for g0, g1 in gaps:
        rows.append((g0 - t0, g1 - g0, "tracker_gap", None, None, None, None, None, None, None))
    rows.sort(key=lambda r: r[0])
    return rows


EVENT_COLUMNS = ("onset", "duration", "trial_type", "trial_number", "trial_id", "stim_file", "caption", "expected",
                 "response", "response_time")


def _study(run: SessionRun, report: ExportReport) -> tuple[StudyMetadata, str]:
    """The study block and the instructions of the run's protocol copy (defaults, and a note, when unreadable)."""
    proto = run.folder / (run.meta.protocol or "protocol.toml")
    try:
        return load_study(proto)
    except ProtocolError as exc:
        report.losses.append(f"{run.stem}: study metadata left out ({exc})")
        return StudyMetadata(), ""


def _events_json(run: SessionRun, study: StudyMetadata, instructions: str) -> dict[str, Any]:
    sc = run.screen()
    task: dict[str, Any] = {
        "TaskName": run.task,
        "TaskDescription": "POV: does the caption fit the image? The participant answers yes, no or unclear.",
        "Instructions": instructions.strip(),
        "CogAtlasID": study.cogatlas_id, "CogPOID": study.cogpo_id, "InstitutionName": study.institution,
        "InstitutionAddress": study.institution_address, "InstitutionalDepartmentName": study.department,
    }
    return {k: v for k, v in task.items() if v} | {
        "StimulusPresentation": {
            "ScreenDistance": sc.distance_cm / 100, "ScreenOrigin": ["top", "left"],
            "ScreenResolution": [sc.width_px, sc.height_px], "ScreenSize": [sc.width_cm / 100, sc.height_cm / 100],
            "SoftwareName": "POV Lab", "SoftwareVersion": run.meta.app_version or __version__,
        },
        "onset": {"Description": "Stimulus onset (screen flip) relative to the start of the run.", "Units": "s"},
        "duration": {"Description": "Time the stimulus stayed on screen.", "Units": "s"},
        "trial_type": {"Description": "Kind of event.", "Levels": {
            "trial": "Image and caption shown.", "practice": "Practice trial.",
            "tracker_gap": "The eye tracker's stream was lost; no gaze samples in this interval."},
            "HED": EVENT_HED},
        "trial_number": {"Description": "Trial number in the session (TRIALID marker), practice first."},
        "trial_id": {"Description": "Trial identifier from the protocol."},
        "stim_file": {"Description": "Image shown, relative to the dataset's stimuli folder."},
        "caption": {"Description": "Caption shown above the image."},
        "expected": {"Description": "Answer expected by the protocol, if any."},
        "response": {"Description": "The participant's answer.", "Levels": {
            "yes": "The caption fits the image.", "no": "It does not.", "unclear": "Unsure.",
            "timeout": "No answer in time."}},
        "response_time": {"Description": "Reaction time from stimulus onset.", "Units": "s"},
    }


def _tsv(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> bytes:
    return ("\t".join(header) + "\n").encode() + events_tsv(rows)


def _predictions(trials: list[TrialRecord]) -> tuple[bytes, dict[str, Any]]:
    header = ("trial_number", "trial_id", "response", "response_time", "expected", "p_yes", "p_no", "p_unclear",
              "predicted")
    rows = []
    for tr in trials:
        probs = (tr.p_yes, tr.p_no, tr.p_unclear)
        pred = most_probable(probs) if all(np.isfinite(probs)) else None
        rows.append((tr.number, tr.trial_id or None, tr.response or None,
                     tr.rt_ms / 1000 if np.isfinite(tr.rt_ms) else None, tr.expected or None,
                     *(float(p) if np.isfinite(p) else None for p in probs), pred))
    side = {"Description": "Responses of the participant and the live predictions of the POV model for them.",
            "p_yes": {"Description": "Predicted probability that the participant answers yes (last live update)."},
            "p_no": {"Description": "Predicted probability of no."},
            "p_unclear": {"Description": "Predicted probability of unclear."},
            "predicted": {"Description": "Most probable answer."},
            "response_time": {"Units": "s", "Description": "Reaction time."}}
    return _tsv(header, rows), side


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _stim_name(dataset: Path, stage: Path, src: Path, taken: dict[str, bytes]) -> str:
    """Copy a stimulus into ``stimuli/`` once; a different file of the same name gets a content suffix."""
    import hashlib

    data = src.read_bytes()
    name = src.name
    existing = dataset / "stimuli" / name
    other = taken.get(name) if name in taken else (existing.read_bytes() if existing.is_file() else None)
    if other is not None and other != data:
        name = f"{src.stem}-{hashlib.sha256(data).hexdigest()[:8]}{src.suffix}"
        if (dataset / "stimuli" / name).is_file():
            return name
    if other is None or other != data:
        (stage / "stimuli").mkdir(parents=True, exist_ok=True)
        (stage / "stimuli" / name).write_bytes(data)
    taken[name] = data
    return name


def _export_run(run: SessionRun, dataset: Path, stage: Path, report: ExportReport, stims: dict[str, bytes],
                study: tuple[StudyMetadata, str]) -> None:
    contents = read_session_xdf(run.xdf)
    if not run.status.ended:
        report.losses.append(f"{run.stem}: session.json still says 'recording' (the app did not end the run); "
                             "'povlab recover' first gives it a clean XDF and its trials")
    report.losses += [f"{run.xdf.name}: {line}" for line in contents.losses]
    gaze = _gaze_stream(contents, run)
    markers = contents.get(MARKERS.name) or contents.by_type(MARKERS.type)
    starts = [float(gaze.time_stamps[0])] + ([float(markers.time_stamps.min())] if markers is not None and len(markers)
                                             else [])
    t0 = min(starts)
    log = parse_markers(markers.time_stamps, markers.strings(), float(gaze.time_stamps[-1])) if markers else None
    trials = log.trials if log else []
    attach_predictions(trials, contents.get(PREDICTIONS.name))
    gaps = log.gaps if log else [(g[0], g[1]) for g in run.meta.gaps or []]
    for tr in trials:
        src = run.folder / "stimuli" / tr.image
        if tr.image and src.is_file():
            tr.image = _stim_name(dataset, stage, src, stims)
    sub, ses = f"sub-{run.participant}", f"ses-{run.session}"
    prefix = f"{sub}_{ses}_task-{run.task}_run-{run.run}"
    beh = stage / sub / ses / "beh"
    beh.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    write_eye_files(beh, prefix, gaze, markers, float(gaze.time_stamps[0]) - t0, run.meta, run.screen(), notes)
    report.losses += [f"{run.stem}: {n}" for n in notes]
    (beh / f"{prefix}_events.tsv").write_bytes(_tsv(EVENT_COLUMNS, _events_rows(trials, gaps, t0)))
    _write_json(beh / f"{prefix}_events.json", _events_json(run, *study))
    src_dir = stage / "sourcedata" / sub / ses
    src_dir.mkdir(parents=True, exist_ok=True)
    for f in (run.xdf, run.session_json, run.trials_tsv):
        if f.is_file():
            shutil.copyfile(f, src_dir / f.name)
    proto = run.folder / (run.meta.protocol or "protocol.toml")
    if proto.is_file():
        shutil.copyfile(proto, src_dir / f"{run.stem}_{proto.name}")
    deriv = stage / "derivatives" / "povlab" / sub / ses / "beh"
    deriv.mkdir(parents=True, exist_ok=True)
    tsv, side = _predictions(trials)
    (deriv / f"{prefix}_desc-predictions_beh.tsv").write_bytes(tsv)
    _write_json(deriv / f"{prefix}_desc-predictions_beh.json", side)
    for name, data in report_files(run, prefix, contents).items():  # per-AOI and per-trial metrics
        (deriv / name).write_bytes(data)
    report.runs.append(prefix)
    report.samples += len(gaze)


def _merge_participants(dataset: Path, stage: Path, runs: list[SessionRun]) -> None:
    path = dataset / "participants.tsv"
    rows: dict[str, dict[str, str]] = {}
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                rows[r["participant_id"]] = r
    for run in runs:
        rows.setdefault(f"sub-{run.participant}", {"participant_id": f"sub-{run.participant}"})
    out = io.StringIO()
    out.write("participant_id\n")
    for pid in sorted(rows):
        out.write(pid + "\n")
    (stage / "participants.tsv").write_text(out.getvalue(), encoding="utf-8")


def _dataset_files(dataset: Path, stage: Path, study: StudyMetadata) -> None:
    if not (dataset / "dataset_description.json").is_file():
        description: dict[str, Any] = {
            "Name": "POV Lab eye-tracking sessions", "BIDSVersion": BIDS_VERSION, "HEDVersion": HED_VERSION,
            "DatasetType": "raw", "License": study.license or "CC0"}
        if study.authors:
            description["Authors"] = list(study.authors)
        description |= {
            "GeneratedBy": [{"Name": "POV Lab", "Version": __version__,
                             "Description": "Exported from XDF session recordings."}],
            "SourceDatasets": [{"URL": "bids::sourcedata/", "Version": __version__}]}
        _write_json(stage / "dataset_description.json", description)
    if not (dataset / "README").is_file():
        (stage / "README").write_text(
            "POV Lab sessions: gaze (BIDS eye-tracking, BEP020), trials and the participant's answers to\n"
            "'does the caption fit the image?'. Raw XDF recordings are in sourcedata/, model predictions\n"
            "in derivatives/povlab/.\n", encoding="utf-8")
    if not (dataset / "participants.json").is_file():
        _write_json(stage / "participants.json", {"participant_id": {"Description": "Participant label."}})
    dd = dataset / "derivatives" / "povlab" / "dataset_description.json"
    if not dd.is_file():
        (stage / "derivatives" / "povlab").mkdir(parents=True, exist_ok=True)
        _write_json(stage / "derivatives" / "povlab" / "dataset_description.json", {
            "Name": "POV Lab responses and predictions", "BIDSVersion": BIDS_VERSION, "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "POV Lab", "Version": __version__}]})


def export_session(session_dir: Path | str, dataset: Path | str) -> ExportReport:
    """Export every run of a session folder into the BIDS dataset at ``dataset`` (created if needed)."""
    session_dir, dataset = Path(session_dir), Path(dataset)
    runs = find_runs(session_dir)
    for run in runs:
        for key in ("participant", "session", "task"):
            if not LABEL.match(run.label(key)):
                raise BundleError(f"{run.session_json}: {key} label {run.label(key)!r} is not alphanumeric (BIDS)")
        if not run.xdf.is_file():
            raise BundleError(f"{run.xdf}: missing (every run needs its XDF recording)")
        done = dataset / f"sub-{run.participant}" / f"ses-{run.session}" / "beh" / \
            f"sub-{run.participant}_ses-{run.session}_task-{run.task}_run-{run.run}_events.tsv"
        if done.exists():
            raise BundleError(f"{dataset}: run {run.stem} is already in this dataset; nothing was written")
    try:
        dataset.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundleError(f"{dataset}: cannot create the dataset folder ({exc.strerror})") from exc
    stage = dataset / f".povlab-export-{uuid.uuid4().hex[:8]}"
    report = ExportReport(dataset=dataset)
    try:
        stage.mkdir()
        stims: dict[str, bytes] = {}
        studies = [_study(run, report) for run in runs]
        for run, study in zip(runs, studies, strict=True):
            _export_run(run, dataset, stage, report, stims, study)
        _dataset_files(dataset, stage, studies[0][0] if studies else StudyMetadata())
        _merge_participants(dataset, stage, runs)
        for src in sorted(p for p in stage.rglob("*") if p.is_file()):
            dst = dataset / src.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.replace(dst)
            report.files.append(dst)
    except OSError as exc:
        raise BundleError(f"{dataset}: export failed, the dataset is unchanged ({exc.strerror or exc})") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return report
