"""Per-AOI and per-trial report tables of a recorded run, from its XDF alone (see ``docs/studies.md``).

Like EyeLink Data Viewer's interest-area report, everything comes from the recording: the trials and the
answers from the markers stream (``TRIALID``, ``!V TRIAL_VAR``, ``STIM_ONSET``/``STIM_OFFSET``), the areas
of interest from the ``!V IAREA RECTANGLE|FREEHAND`` markers each trial sent (screen pixels, as laid out),
the fixations from the ``PovLab-Fixations`` stream (what the live detector found), the model's last
prediction of each trial from ``PovLab-Predictions``.

The interest period of a trial is the stimulus on screen: from ``STIM_ONSET`` to ``STIM_OFFSET`` (or the
trial's ``TRIAL_RESULT``, or the next trial, when the offset is missing). A fixation belongs to the trial
whose interest period holds its onset; it is mapped onto the trial's AOIs with :func:`app.core.aoi.map_points`
(inside a polygon, the smallest wins; else the nearest within ``margin_deg``, 0.5 deg as in the live mapping),
and the per-AOI figures come from :func:`app.core.aoi.trial_metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.answers import ANSWERS, most_probable
from app.core.aoi import map_points, polygon_area, trial_metrics
from app.core.errors import BundleError
from app.core.gaze import GazeBlock
from app.core.gaze_events import GazeEvent
from app.core.layout import TrialLayout
from app.core.streams import FIXATIONS, GAZE_TYPE, MARKERS, PREDICTIONS
from app.formats.gaze_channels import eyes_of
from app.formats.xdf_reader import XdfContents, read_session_xdf
from app.runfolder.folder import SessionRun, fmt_cell
from app.runfolder.trial_records import TrialRecord, attach_predictions, parse_iareas, parse_markers

AOI_COLUMNS = ("participant", "session", "run", "trial_number", "trial_id", "practice", "ia_id", "ia_label",
               "ia_kind", "ia_text", "ia_left", "ia_top", "ia_right", "ia_bottom", "ia_area_px",
               "dwell_time_ms", "dwell_time_pct", "fixation_count", "fixation_pct", "first_fixation_time_ms",
               "first_fixation_duration_ms", "run_count", "revisits", "fixated", "expected", "response", "rt_ms")
TRIAL_COLUMNS = ("participant", "session", "run", "trial_number", "trial_id", "practice", "image", "caption",
                 "stim_duration_ms", "fixation_count", "dwell_time_ms", "off_aoi_dwell_time_ms",
                 "word_aois_fixated", "word_aois", "object_aois_fixated", "object_aois", "expected", "response",
                 "rt_ms", "p_yes", "p_no", "p_unclear", "predicted", "model_agrees")


@dataclass(frozen=True)
class RunReport:
    """The rows of one run (dicts keyed by :data:`AOI_COLUMNS` / :data:`TRIAL_COLUMNS`) and what was missing."""

    stem: str
    aoi_rows: tuple[dict[str, Any], ...]
    trial_rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()


def _fixations(contents: XdfContents) -> list[GazeEvent]:
    fx = contents.get(FIXATIONS.name) or contents.by_type(FIXATIONS.type)
    if fx is None or not len(fx) or isinstance(fx.time_series, list):
        return []
    onset, duration, x, y = (fx.column(c) for c in ("onset", "duration", "x", "y"))
    order = np.argsort(onset, kind="stable")
    return [GazeEvent("fixation", float(onset[i]), float(onset[i] + duration[i]), float(duration[i]), float(x[i]),
                      float(y[i]), math.nan, math.nan)
            for i in order if math.isfinite(onset[i]) and math.isfinite(duration[i]) and duration[i] >= 0]


FIXATION_SOURCES = ("recorded", "nh", "ivt", "idt")


def _detected_fixations(contents: XdfContents, run: SessionRun, method: str) -> list[GazeEvent]:
    """Fixations detected offline in the run's gaze (the mean of the eyes it has) with ``method``."""
    from app.detection.pipeline import detect  # numpy only; imported here as povlab detect does

    name = run.meta.tracker.name if run.meta.tracker is not None else None
    gaze = (contents.get(name) if name else None) or contents.by_type(GAZE_TYPE)
    if gaze is None or not len(gaze):
        raise BundleError(f"{run.xdf}: no gaze samples to detect fixations in (--fixations {method}); "
                          "--fixations recorded uses the live detector's")
    eyes = eyes_of(gaze, run.meta.tracker, run.screen())
    xs, ys = np.vstack([e.x for e in eyes]), np.vstack([e.y for e in eyes])
    n = np.isfinite(xs).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(n > 0, np.nansum(xs, axis=0) / np.maximum(n, 1), np.nan)
        y = np.where(n > 0, np.nansum(ys, axis=0) / np.maximum(n, 1), np.nan)
    order = np.argsort(gaze.time_stamps, kind="stable")
    result = detect(GazeBlock.from_arrays(gaze.time_stamps[order], x[order], y[order]), run.screen(), method=method)
    return list(result.of_kind("fixation"))


def _ms(seconds: float) -> float | None:
    return round(seconds * 1000.0, 1) if math.isfinite(seconds) else None


def _period(trials: list[TrialRecord], i: int) -> tuple[float, float]:
    tr = trials[i]
    end = tr.stim_offset if math.isfinite(tr.stim_offset) else tr.end
    if not math.isfinite(end):
        end = trials[i + 1].start if i + 1 < len(trials) else math.inf
    return tr.stim_onset, end


def run_report(run: SessionRun, margin_deg: float = 0.5, contents: XdfContents | None = None,
               fixations_from: str = "recorded") -> RunReport:
    """The per-AOI and per-trial rows of one run (none, with a note, when its XDF has no markers).

    ``contents``: the run's XDF when the caller has read it already (the BIDS export). ``fixations_from``:
    ``recorded`` (the live detector's fixations stream) or an offline detector (``nh``, ``ivt``, ``idt`` of
    :mod:`app.detection.pipeline`) run on the recorded gaze.
    """
    if fixations_from not in FIXATION_SOURCES:
        raise BundleError(f"fixations from {fixations_from!r}: choose one of {', '.join(FIXATION_SOURCES)}")
    if contents is None:
        if not run.xdf.is_file():
            raise BundleError(f"{run.xdf}: missing (every run needs its XDF recording)")
        contents = read_session_xdf(run.xdf)
    markers = contents.get(MARKERS.name) or contents.by_type(MARKERS.type)
    if markers is None or not len(markers) or not isinstance(markers.time_series, list):
        return RunReport(run.stem, (), (), (f"{run.xdf.name}: no markers stream; no trials to report",))
    texts = markers.strings()
    log = parse_markers(markers.time_stamps, texts)
    trials = log.trials
    attach_predictions(trials, contents.get(PREDICTIONS.name))
    iareas = parse_iareas(texts, markers.time_stamps)
    fixations = _fixations(contents) if fixations_from == "recorded" else \
        _detected_fixations(contents, run, fixations_from)
    notes = [f"{run.xdf.name}: {line}" for line in contents.losses]
    if not fixations and fixations_from == "recorded":
        notes.append(f"{run.stem}: no fixations recorded (no {FIXATIONS.name} stream or it is empty)")
    geometry = run.screen()
    sw, sh = geometry.width_px, geometry.height_px
    onsets = np.array([f.onset for f in fixations])
    base = {"participant": run.participant, "session": run.session, "run": run.run}
    aoi_rows: list[dict[str, Any]] = []
    trial_rows: list[dict[str, Any]] = []
    for i, tr in enumerate(trials):
        if not math.isfinite(tr.stim_onset):
            notes.append(f"{run.stem}: trial {tr.number} has no STIM_ONSET (not shown); left out")
            continue
        t0, t1 = _period(trials, i)
        sel = np.flatnonzero((onsets >= t0) & (onsets < t1)) if len(onsets) else np.empty(0, dtype=np.int64)
        fix = [fixations[j] for j in sel]
        aois = iareas.get(tr.number, [])
        layout = TrialLayout(tr.trial_id, (sw, sh), (), (0.0, 0.0, 0.0, 0.0), 1.0, tuple(aois))
        hits = map_points(np.array([f.x for f in fix]), np.array([f.y for f in fix]), aois, geometry, margin_deg)
        m = trial_metrics(fix, hits.tolist(), layout, t0)
        total = sum(f.duration for f in fix)
        answer = {"expected": tr.expected or None, "response": tr.response or None,
                  "rt_ms": tr.rt_ms if math.isfinite(tr.rt_ms) else None}
        trial_base = {**base, "trial_number": tr.number, "trial_id": tr.trial_id or None, "practice": int(tr.practice)}
        for k, aoi in enumerate(aois):
            first = next((j for j, h in enumerate(hits) if h == k), None)
            x0, y0, x1, y1 = aoi.bbox
            aoi_rows.append({
                **trial_base, "ia_id": k + 1, "ia_label": aoi.name, "ia_kind": aoi.kind, "ia_text": aoi.text,
                "ia_left": x0, "ia_top": y0, "ia_right": x1, "ia_bottom": y1,
                "ia_area_px": round(polygon_area(aoi.polygon), 1),
                "dwell_time_ms": _ms(m.dwell_s[k]),
                "dwell_time_pct": round(100.0 * m.dwell_s[k] / total, 3) if total > 0 else None,
                "fixation_count": m.fixation_count[k],
                "fixation_pct": round(100.0 * m.fixation_count[k] / len(fix), 3) if fix else None,
                "first_fixation_time_ms": _ms(m.first_fixation_s[k]),
                "first_fixation_duration_ms": None if first is None else _ms(fix[first].duration),
                "run_count": m.revisits[k] + 1 if m.fixation_count[k] else 0, "revisits": m.revisits[k],
                "fixated": int(m.fixation_count[k] > 0), **answer})
        probs = (tr.p_yes, tr.p_no, tr.p_unclear)
        predicted = most_probable(probs) if all(math.isfinite(p) for p in probs) else None
        words = [k for k, a in enumerate(aois) if a.kind == "word"]
        objects = [k for k, a in enumerate(aois) if a.kind == "object"]
        trial_rows.append({
            **trial_base, "image": tr.image or None, "caption": tr.caption or None,
            "stim_duration_ms": _ms(t1 - t0) if math.isfinite(t1) else None, "fixation_count": len(fix),
            "dwell_time_ms": _ms(total), "off_aoi_dwell_time_ms": _ms(m.off_dwell_s),
            "word_aois_fixated": sum(m.fixation_count[k] > 0 for k in words), "word_aois": len(words),
            "object_aois_fixated": sum(m.fixation_count[k] > 0 for k in objects), "object_aois": len(objects),
            **answer, "p_yes": probs[0], "p_no": probs[1], "p_unclear": probs[2], "predicted": predicted,
            "model_agrees": None if predicted is None or tr.response not in ANSWERS else int(predicted == tr.response)})
    return RunReport(run.stem, tuple(aoi_rows), tuple(trial_rows), tuple(notes))


def tsv_bytes(columns: tuple[str, ...], rows: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> bytes:
    """A TSV with a header; None and NaN as ``n/a`` (BIDS), floats without trailing zeros, no tabs in cells."""
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(" ".join(fmt_cell(row.get(c)).split()) or "n/a" for c in columns))
    return ("\n".join(lines) + "\n").encode("utf-8")


_DV, _TPL = "EyeLink Data Viewer interest-area report: ", "Tobii Pro Lab metrics: "
#: Description and units of every column (the BIDS sidecars and docs/studies.md), with the column of
#: EyeLink Data Viewer's interest-area report and the metric of Tobii Pro Lab's metrics export it corresponds to.
AOI_COLUMN_DOCS: dict[str, dict[str, str]] = {
    "participant": {"Description": "Participant label (sub-<label>). " + _DV + "RECORDING_SESSION_LABEL; "
                                   + _TPL + "Participant."},
    "session": {"Description": "Session label (ses-<label>)."},
    "run": {"Description": "Run number within the session."},
    "trial_number": {"Description": "Trial number in the run (TRIALID), practice first. " + _DV + "TRIAL_INDEX."},
    "trial_id": {"Description": "Trial id from the protocol. " + _TPL + "Media / TOI name."},
    "practice": {"Description": "1 for a practice trial, 0 otherwise."},
    "ia_id": {"Description": "Index of the AOI in its trial, from 1, as in the !V IAREA marker. " + _DV + "IA_ID."},
    "ia_label": {"Description": "AOI name: txt_<word>[k] for a caption word, vis_<label> for an image object. "
                                + _DV + "IA_LABEL; " + _TPL + "AOI."},
    "ia_kind": {"Description": "word (txt_), object (vis_) or other."},
    "ia_text": {"Description": "The word or object label without its prefix."},
    "ia_left": {"Description": "AOI bounding box, left edge (screen px, top-left origin). " + _DV + "IA_LEFT.",
                "Units": "pixel"},
    "ia_top": {"Description": "Bounding box, top edge. " + _DV + "IA_TOP.", "Units": "pixel"},
    "ia_right": {"Description": "Bounding box, right edge. " + _DV + "IA_RIGHT.", "Units": "pixel"},
    "ia_bottom": {"Description": "Bounding box, bottom edge. " + _DV + "IA_BOTTOM.", "Units": "pixel"},
    "ia_area_px": {"Description": "Area of the AOI polygon. " + _DV + "IA_AREA.", "Units": "pixel^2"},
    "dwell_time_ms": {"Description": "Sum of the durations of the trial's fixations on the AOI. " + _DV
                      + "IA_DWELL_TIME; " + _TPL + "Total duration of fixations.", "Units": "ms"},
    "dwell_time_pct": {"Description": "dwell_time_ms as a percentage of the summed duration of all the trial's "
                       "fixations (on and off the AOIs); n/a without fixations. " + _DV + "IA_DWELL_TIME_%.",
                       "Units": "%"},
    "fixation_count": {"Description": "Fixations on the AOI. " + _DV + "IA_FIXATION_COUNT; " + _TPL
                       + "Number of fixations."},
    "fixation_pct": {"Description": "fixation_count as a percentage of the trial's fixations. " + _DV
                     + "IA_FIXATION_%.", "Units": "%"},
    "first_fixation_time_ms": {"Description": "Onset of the first fixation on the AOI, from the stimulus onset; "
                               "n/a when never fixated. " + _DV + "IA_FIRST_FIXATION_TIME; " + _TPL
                               + "Time to first fixation.", "Units": "ms"},
    "first_fixation_duration_ms": {"Description": "Duration of the first fixation on the AOI; n/a when never "
                                   "fixated. " + _DV + "IA_FIRST_FIXATION_DURATION; " + _TPL
                                   + "Duration of first fixation.", "Units": "ms"},
    "run_count": {"Description": "Visits: runs of consecutive fixations on the AOI (0 when never fixated). "
                  + _DV + "IA_RUN_COUNT; " + _TPL + "Number of visits."},
    "revisits": {"Description": "Visits after the first (run_count - 1, 0 when never fixated); Holmqvist et al. "
                 "2011, 'Eye tracking', ch. 7."},
    "fixated": {"Description": "1 when the AOI got at least one fixation, else 0 (Data Viewer's IA_SKIP is the "
                "first-pass variant of its complement)."},
    "expected": {"Description": "Answer the protocol expects (yes, no, unclear), if any."},
    "response": {"Description": "The participant's answer (yes, no, unclear, timeout)."},
    "rt_ms": {"Description": "Reaction time from the stimulus onset.", "Units": "ms"},
}
TRIAL_COLUMN_DOCS: dict[str, dict[str, str]] = {
    **{k: AOI_COLUMN_DOCS[k] for k in ("participant", "session", "run", "trial_number", "trial_id", "practice",
                                       "expected", "response", "rt_ms")},
    "image": {"Description": "Image file shown."},
    "caption": {"Description": "Caption shown above the image."},
    "stim_duration_ms": {"Description": "Length of the interest period: STIM_ONSET to STIM_OFFSET.", "Units": "ms"},
    "fixation_count": {"Description": "Fixations whose onset falls in the interest period. " + _DV
                       + "TRIAL_FIXATION_TOTAL (here: of the interest period)."},
    "dwell_time_ms": {"Description": "Summed duration of those fixations.", "Units": "ms"},
    "off_aoi_dwell_time_ms": {"Description": "Summed duration of the fixations on no AOI.", "Units": "ms"},
    "word_aois_fixated": {"Description": "Caption-word AOIs with at least one fixation."},
    "word_aois": {"Description": "Caption-word AOIs of the trial."},
    "object_aois_fixated": {"Description": "Image-object AOIs with at least one fixation."},
    "object_aois": {"Description": "Image-object AOIs of the trial."},
    "p_yes": {"Description": "Last live prediction of the trial: probability that the participant answers yes."},
    "p_no": {"Description": "Probability of no."},
    "p_unclear": {"Description": "Probability of unclear."},
    "predicted": {"Description": "Most probable answer of that prediction."},
    "model_agrees": {"Description": "1 when predicted equals response, 0 when not, n/a without a prediction or an "
                     "answer."},
}


def report_files(run: SessionRun, prefix: str, contents: XdfContents | None = None) -> dict[str, bytes]:
    """The report tables of a run with their JSON sidecars, by file name (``<prefix>_desc-aoimetrics_beh.tsv``,
    ``<prefix>_desc-trialmetrics_beh.tsv`` and their ``.json``): what the BIDS export's derivatives and the
    session bundle hold. A run without fixations gets its tables all the same (dwell 0, counts 0)."""
    import json

    rep = run_report(run, contents=contents)
    out: dict[str, bytes] = {}
    if not rep.trial_rows:
        return out
    for desc, columns, rows, docs, what in (
            ("aoimetrics", AOI_COLUMNS, rep.aoi_rows, AOI_COLUMN_DOCS,
             "One row per trial x area of interest: dwell, fixations, first fixation, visits, and the answer."),
            ("trialmetrics", TRIAL_COLUMNS, rep.trial_rows, TRIAL_COLUMN_DOCS,
             "One row per trial: fixations, AOIs fixated, the answer and the model's last prediction.")):
        out[f"{prefix}_desc-{desc}_beh.tsv"] = tsv_bytes(columns, rows)
        side = {"Description": what + " Interest period: stimulus onset to offset; fixations from the recording's "
                f"{FIXATIONS.name} stream; AOIs from its !V IAREA markers (see POV Lab docs/studies.md).",
                **{c: docs[c] for c in columns}}
        out[f"{prefix}_desc-{desc}_beh.json"] = (json.dumps(side, indent=2) + "\n").encode("utf-8")
    return out
