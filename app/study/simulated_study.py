"""A simulated study: a protocol with object AOIs and session folders of attentive simulated participants.

This checks the pipeline (record -> study folder -> ``model train --sessions`` -> predictions), not human
behaviour. The participants follow the documented rule of :mod:`app.core.attentive_participant` (yes only when
every object the caption names was looked at long enough), each with its own traits.

**Protocol** (:func:`study_protocol`): the bundled images with the object AOIs of the demo protocol (for each
image, the demo trial with the most objects); per image one caption naming each distinct object (up to four),
two naming a pair, and one naming none, written with tomlkit and checked with :func:`app.study.check.check_protocol`.

**Sessions** (:func:`simulate_session`): the folder a session leaves (``sub-<p>/ses-01/``: XDF, session.json,
trials.tsv, protocol and stimuli copies), written directly without LSL and without gaze samples: the XDF holds
the ``PovLab-Markers`` stream (the markers a session sends, time-stamped as a real run would be: fixation cross
1 s, the stimulus until the answer, 0.5 s between trials) and the ``PovLab-Fixations`` stream (fixations of
:func:`~app.core.attentive_participant.plan_viewing`, mapped onto the trial's AOIs with the live mapping).
The answer is given from the mapped fixations, as recorded.
"""

from __future__ import annotations

import hashlib
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import tomlkit

from app import __version__
from app.core.aoi import map_points
from app.core.attentive_participant import AttentionTraits, ViewingFixation, answer_from_viewing, plan_viewing
from app.core.layout import layout_trial
from app.core.markers import response_markers, trial_start_markers
from app.core.paths import DEMO_PROTOCOL
from app.core.protocol import Protocol, load_protocol
from app.core.run_metadata import RunMetadata, SessionStatus, TrackerRecord
from app.core.streams import FIXATIONS, MARKERS
from app.formats.xdf_format import stream_header_xml
from app.formats.xdf_writer import XdfWriter
from app.runfolder.files import copy_protocol, write_meta
from app.runfolder.folder import write_trials
from app.study.check import check_protocol

NONE_CAPTION = "A quiet empty street at night"


def study_protocol(folder: Path) -> Path:
    """Write ``folder/protocol.toml`` and ``folder/images/`` (see the module docstring); returns the protocol."""
    demo = load_protocol(DEMO_PROTOCOL)
    best: dict[str, tuple[Path, tuple]] = {}
    for demo_trial in demo.all_trials:
        if demo_trial.aois and len(demo_trial.aois) > len(best.get(demo_trial.image.name, (None, ()))[1]):
            best[demo_trial.image.name] = (demo_trial.image, demo_trial.aois)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Simulated study (povlab bench study): the demo images and object AOIs, captions naming "
                            "some of the objects."))
    doc.add("schema_version", 1)
    doc.add("name", "Simulated study")
    screen = tomlkit.table()
    screen.update({"width_px": 1920, "height_px": 1080, "width_cm": 53.1, "height_cm": 29.9, "distance_cm": 60.0})
    doc.add("screen", screen)
    layout = tomlkit.table()
    layout.update({"font_size_px": 42, "caption_top_px": 60, "image_top_px": 230, "image_max_height_px": 800})
    doc.add("layout", layout)
    trials = tomlkit.aot()
    for name, (src, aois) in sorted(best.items()):
        shutil.copyfile(src, images / name)
        labels = list(dict.fromkeys(a.label for a in aois))
        captions = [f"There is a {a} in this picture" for a in labels[:4]]
        captions += [f"A {a} next to a {b}" for a, b in list(combinations(labels, 2))[:2]]
        captions.append(NONE_CAPTION)
        for j, caption in enumerate(captions, start=1):
            t = tomlkit.table()
            t.add("id", f"{Path(name).stem}-{j}")
            t.add("image", f"images/{name}")
            t.add("caption", caption)
            boxes = tomlkit.array()
            for a in aois:
                xs, ys = [p[0] for p in a.polygon], [p[1] for p in a.polygon]
                boxes.append(tomlkit.inline_table())
                boxes[-1].update({"label": a.label, "box": [min(xs), min(ys), max(xs), max(ys)]})
            t.add("aois", boxes)
            trials.append(t)
    doc.add("trials", trials)
    path = folder / "protocol.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    check_protocol(path)
    return path


def simulate_session(root: Path, protocol: Protocol, participant: str, traits: AttentionTraits,
                     rng: np.random.Generator, t0: float = 1000.0) -> Path:
    """Write the session folder of one simulated participant (see the module docstring); returns it."""
    folder = root / f"sub-{participant}" / "ses-01"
    folder.mkdir(parents=True)
    stem = f"sub-{participant}_ses-01_task-pov_run-001"
    markers: list[tuple[float, str]] = [(t0, f"SESSION_START {protocol.name}")]
    fixes: list[list[float]] = []
    rows = []
    t = t0 + 0.5
    for number, trial in enumerate(protocol.all_trials, start=1):
        lay = layout_trial(protocol, trial)
        markers += [(t, m) for m in [*trial_start_markers(number, trial, lay), "FIXCROSS_ONSET"]]
        onset = t + protocol.timing.fixation_cross_s
        markers.append((onset, "STIM_ONSET"))
        plan = plan_viewing(lay, traits, rng)
        hits = map_points(np.array([f.x for f in plan]), np.array([f.y for f in plan]), lay.aois, protocol.screen)
        seen = [ViewingFixation(int(h), f.onset_s, f.duration_s, f.x, f.y) for f, h in zip(plan, hits, strict=True)]
        answer = answer_from_viewing(lay, trial.caption, seen, traits, rng)
        end = seen[-1].onset_s + seen[-1].duration_s if seen else 0.0
        rt = min(end + float(rng.lognormal(np.log(0.4), 0.3)), protocol.timing.max_trial_s - 0.05)
        for f in seen:
            if f.onset_s < rt:
                dur = min(f.duration_s, rt - f.onset_s)
                fixes.append([onset + f.onset_s, dur, f.x, f.y, number, f.aoi + 1 if f.aoi >= 0 else -1])
        markers += [(onset + rt, m) for m in response_markers(answer, rt)]
        markers.append((onset + rt + 0.01, "STIM_OFFSET"))
        rows.append({"number": number, "trial_id": trial.trial_id, "practice": int(trial.practice),
                     "stim_onset": onset, "stim_offset": onset + rt + 0.01, "response": answer,
                     "rt_ms": round(rt * 1000, 1), "expected": trial.expected, "n_fixations": len(seen)})
        t = onset + rt + 0.01 + protocol.timing.inter_trial_s
    markers.append((t, "SESSION_END"))
    _write_xdf(folder / f"{stem}.xdf", markers, np.array(fixes, dtype=np.float64).reshape(-1, 6))
    copy_protocol(protocol.path, sorted({tr.image for tr in protocol.all_trials} | {protocol.style.font}), folder)
    write_trials(folder / f"{stem}_trials.tsv", rows)
    write_meta(folder / f"{stem}_session.json", RunMetadata(
        app_version=__version__, participant=participant, session="01", task="pov", run=1,
        status=SessionStatus.COMPLETE, protocol="protocol.toml", protocol_name=protocol.name,
        protocol_sha256=hashlib.sha256(protocol.path.read_bytes()).hexdigest(), screen=protocol.screen,
        tracker=TrackerRecord(kind="simulated-attentive", name="none (markers and fixations only)"),
        started_utc="2026-01-01T10:00:00Z", ended_utc="2026-01-01T10:05:00Z", model=None,
        validation=None, n_trials_done=len(rows), n_fixations=len(fixes),
        warnings=[f"simulated participant (app.core.attentive_participant), traits {traits}: no gaze samples"]))
    return folder


def _write_xdf(path: Path, markers: list[tuple[float, str]], fixes: np.ndarray) -> None:
    w = XdfWriter(path)
    try:
        w.stream_header(1, stream_header_xml(MARKERS.name, MARKERS.type, MARKERS.channels, "string", 0.0, "sim-mk"))
        w.stream_header(2, stream_header_xml(FIXATIONS.name, FIXATIONS.type, FIXATIONS.channels, "double64", 0.0,
                                             "sim-fx", FIXATIONS.units))
        mk_t = np.array([m[0] for m in markers])
        w.samples(1, "string", mk_t, [[m[1]] for m in markers])
        fx_t = fixes[:, 0] + fixes[:, 1]
        if len(fixes):
            w.samples(2, "double64", fx_t, fixes)
        w.stream_footer(1, float(mk_t[0]), float(mk_t[-1]), len(mk_t), [])
        w.stream_footer(2, float(fx_t[0]) if len(fx_t) else 0.0, float(fx_t[-1]) if len(fx_t) else 0.0, len(fx_t), [])
    finally:
        w.close()
