"""A synthetic but complete session folder: the benchmark's input and the tests' fixture.

The gaze follows the usual scanpath model of synthetic eye-tracking data (as in pymovements'
``gaze.from_numpy`` test generators): fixations of 150-450 ms at random screen positions joined
by 30 ms linear saccades, measurement noise of 0.5 px, and blinks (both eyes NaN for 150 ms)
about every 4 s. The XDF is written directly (``xdf_format``), so no LSL is needed.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app import __version__
from app.core.answers import ANSWERS
from app.core.geometry import ScreenGeometry
from app.core.paths import ASSETS_DIR, DEMO_PROTOCOL
from app.core.run_metadata import CountersRecord, RunMetadata, SessionStatus, TrackerRecord
from app.core.streams import FIXATIONS, MARKERS, PREDICTIONS, SIM_GAZE
from app.formats.xdf_format import stream_header_xml
from app.formats.xdf_writer import XdfWriter
from app.runfolder.folder import write_meta, write_trials

RECORDED_AT = "2026-01-01T10:00:00+0000"  # the XDF header's datetime: the run's started_utc below
IMAGES = ("chelsea.jpg", "astronaut.jpg", "coffee.jpg")
# XDF Gaze Meta-Data (https://github.com/sccn/xdf/wiki/Gaze-Meta-Data), as the simulated tracker publishes it
GAZE_META = tuple({"type": kind, "eye": eye} for eye, kind in (
    ("left", "ScreenX"), ("left", "ScreenY"), ("right", "ScreenX"), ("right", "ScreenY"), ("left", "Diameter"),
    ("right", "Diameter")))


def _scanpath(rng: np.random.Generator, n: int, rate: float, w: int,
              h: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                                NDArray[np.float64], NDArray[np.float64]]:
    dur = rng.integers(int(0.15 * rate), int(0.45 * rate), size=n // int(0.15 * rate) + 2)
    dur = dur[: int(np.searchsorted(np.cumsum(dur), n)) + 1]
    cx, cy = rng.uniform(100, w - 100, len(dur)), rng.uniform(100, h - 100, len(dur))
    x, y = np.repeat(cx, dur)[:n], np.repeat(cy, dur)[:n]
    k = max(1, int(0.03 * rate))  # saccade: a k-sample moving average turns each step into a ramp
    kern = np.ones(k) / k
    x = np.convolve(np.pad(x, (k - 1, 0), mode="edge"), kern, mode="valid")
    y = np.convolve(np.pad(y, (k - 1, 0), mode="edge"), kern, mode="valid")
    starts = np.concatenate([[0], np.cumsum(dur)[:-1]])
    return x, y, starts, dur, cx, cy


def make_session(root: Path, participant: str = "01", session: str = "01", run: int = 1, duration_s: float = 60.0,
                 rate: float = 1000.0, seed: int = 0, t0: float = 1000.0, trial_s: float = 10.0,
                 status: str = SessionStatus.COMPLETE, gap: tuple[float, float] | None = None) -> Path:
    """Write ``root/sub-<p>/ses-<s>/`` with XDF, session.json, trials.tsv, protocol and stimuli; return it.

    ``gap=(start_s, length_s)``: the tracker stream is silent for that stretch, marked by GAP_START/GAP_END.
    """
    rng = np.random.default_rng(seed)
    folder = root / f"sub-{participant}" / f"ses-{session}"
    (folder / "stimuli").mkdir(parents=True, exist_ok=True)
    stem = f"sub-{participant}_ses-{session}_task-pov_run-{run:03d}"
    w, h = 1920, 1080
    n = int(duration_s * rate)
    t = t0 + np.arange(n) / rate
    x, y, starts, dur, cx, cy = _scanpath(rng, n, rate, w, h)
    gaze = np.empty((n, 6))
    gaze[:, 0] = x + rng.normal(0, 0.5, n)
    gaze[:, 1] = y + rng.normal(0, 0.5, n)
    gaze[:, 2] = x + 3 + rng.normal(0, 0.5, n)
    gaze[:, 3] = y + rng.normal(0, 0.5, n)
    gaze[:, 4] = 3.5 + 0.05 * rng.standard_normal(n)
    gaze[:, 5] = 3.6 + 0.05 * rng.standard_normal(n)
    blink_len = int(0.15 * rate)
    for b in np.arange(int(2 * rate), n - blink_len, int(4 * rate)):
        gaze[b:b + blink_len, :] = np.nan

    # trials: fixation cross 1 s, stimulus until a response 2-5 s later
    markers: list[tuple[float, str]] = [(t0, "SESSION_START POV demo"), (t0 + 0.2, "VALIDATION_END")]
    fix_rows, pred_rows, trials = [], [], []
    n_trials = max(1, int((duration_s - 1) // trial_s))
    answers = ANSWERS
    for i in range(n_trials):
        num, ts = i + 1, t0 + 1 + i * trial_s
        img = IMAGES[i % len(IMAGES)]
        onset, rt = ts + 1.0, float(rng.uniform(2.0, 5.0))
        ans = answers[int(rng.integers(0, 3))]
        markers += [(ts, f"TRIALID {num}"), (ts, f"!V TRIAL_VAR trial_id t{num:03d}"),
                    (ts, f"!V TRIAL_VAR practice {int(i == 0)}"), (ts, f"!V TRIAL_VAR image {img}"),
                    (ts, "!V TRIAL_VAR caption 'A synthetic caption'"), (ts, "!V TRIAL_VAR expected yes"),
                    (ts, "!V IAREA RECTANGLE 1 100.0 60.0 300.0 110.0 w01_A"), (ts, "FIXCROSS_ONSET"),
                    (onset, "STIM_ONSET"), (onset + rt, "!V TRIAL_VAR response " + ans),
                    (onset + rt, f"!V TRIAL_VAR rt_ms {rt * 1000:.1f}"), (onset + rt, f"TRIAL_RESULT {answers.index(ans)}"),
                    (onset + rt + 0.01, "STIM_OFFSET")]
        p = rng.dirichlet((2, 2, 1))
        pred_rows.append((onset + rt, [num, *p, 5]))
        trials.append({"number": num, "trial_id": f"t{num:03d}", "practice": int(i == 0), "stim_onset": onset,
                       "stim_offset": onset + rt + 0.01, "response": ans, "rt_ms": round(rt * 1000, 1),
                       "expected": "yes", "p_yes": p[0], "p_no": p[1], "p_unclear": p[2]})
    markers.append((t[-1], "SESSION_END"))
    keep = np.ones(n, dtype=bool)
    if gap is not None:
        g0, g1 = t0 + gap[0], t0 + gap[0] + gap[1]
        keep = (t < g0) | (t >= g1)
        markers += [(g0, "GAP_START"), (g1, "GAP_END")]
        markers.sort(key=lambda m: m[0])
    for s0, d, fx, fy in zip(starts, dur, cx, cy, strict=True):
        on = t0 + (s0 + 0.015 * rate) / rate
        if on + d / rate < t[-1]:
            num = int((on - t0 - 1) // trial_s) + 1
            fix_rows.append((on + (d - 0.03 * rate) / rate, [on, (d - 0.03 * rate) / rate, fx, fy, num, -1]))

    def uid(sid: int) -> str:  # fixed by the arguments: the same call writes the same bytes
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"povlab-synthetic/{stem}/{seed}/{sid}"))

    xdf = XdfWriter(folder / f"{stem}.xdf", recorded_at=RECORDED_AT)
    try:
        xdf.stream_header(1, stream_header_xml(SIM_GAZE.name, SIM_GAZE.type, SIM_GAZE.channels, "double64", rate,
                                               "synth-gaze", SIM_GAZE.units, extra=GAZE_META, uid=uid(1)))
        xdf.stream_header(2, stream_header_xml(MARKERS.name, MARKERS.type, MARKERS.channels, MARKERS.channel_format,
                                               0.0, "synth-markers", uid=uid(2)))
        xdf.stream_header(3, stream_header_xml(FIXATIONS.name, FIXATIONS.type, FIXATIONS.channels, "double64", 0.0,
                                               "synth-fix", FIXATIONS.units, uid=uid(3)))
        xdf.stream_header(4, stream_header_xml(PREDICTIONS.name, PREDICTIONS.type, PREDICTIONS.channels, "double64",
                                               0.0, "synth-pred", uid=uid(4)))
        step = int(0.5 * rate)
        mk_t = np.array([m[0] for m in markers])
        fx_t = np.array([f[0] for f in fix_rows])
        pr_t = np.array([p[0] for p in pred_rows])
        for c, i0 in enumerate(range(0, n, step)):
            i1 = min(n, i0 + step)
            k = keep[i0:i1]
            xdf.samples(1, "double64", t[i0:i1][k], gaze[i0:i1][k])
            lo, hi = t[i0], (t[i1] if i1 < n else np.inf)
            sel = np.flatnonzero((mk_t >= lo) & (mk_t < hi))
            xdf.samples(2, "string", mk_t[sel], [[markers[j][1]] for j in sel])
            sel = np.flatnonzero((fx_t >= lo) & (fx_t < hi))
            xdf.samples(3, "double64", fx_t[sel], np.array([fix_rows[j][1] for j in sel]).reshape(len(sel), 6))
            sel = np.flatnonzero((pr_t >= lo) & (pr_t < hi))
            xdf.samples(4, "double64", pr_t[sel], np.array([pred_rows[j][1] for j in sel]).reshape(len(sel), 5))
            if c % 10 == 0:
                for sid in (1, 2, 3, 4):
                    xdf.clock_offset(sid, float(lo), 0.0)
                xdf.boundary()
        for sid, stamps in ((1, t[keep]), (2, mk_t), (3, fx_t), (4, pr_t)):
            xdf.stream_footer(sid, float(stamps[0]), float(stamps[-1]), len(stamps), [])
    finally:
        xdf.close()

    text = DEMO_PROTOCOL.read_text(encoding="utf-8").replace("../assets/images/", "stimuli/")
    text = text.replace("../assets/fonts/", "fonts/")
    (folder / "protocol.toml").write_text(text, encoding="utf-8")
    for image in sorted((ASSETS_DIR / "images").glob("*.jpg")):  # every image of the protocol: the copy loads
        shutil.copyfile(image, folder / "stimuli" / image.name)
    (folder / "fonts").mkdir(exist_ok=True)
    shutil.copyfile(ASSETS_DIR / "fonts" / "DejaVuSans.ttf", folder / "fonts" / "DejaVuSans.ttf")
    write_trials(folder / f"{stem}_trials.tsv", trials)
    write_meta(folder / f"{stem}_session.json", RunMetadata(
        app_version=__version__, participant=participant, session=session, task="pov", run=run,
        protocol="protocol.toml", protocol_name="POV demo",
        protocol_sha256=hashlib.sha256((folder / "protocol.toml").read_bytes()).hexdigest(),
        screen=ScreenGeometry(w, h, 53.1, 29.9, 60.0),
        tracker=TrackerRecord(name=SIM_GAZE.name, source_id="synth-gaze", rate=rate, channels=list(SIM_GAZE.channels)),
        started_utc="2026-01-01T10:00:00Z", ended_utc="2026-01-01T10:01:00Z", status=SessionStatus(status),
        model=None, validation={"mean_error_deg": 0.42, "max_error_deg": 0.91, "targets": 9},
        gaps=[] if gap is None else [[t0 + gap[0], t0 + gap[0] + gap[1]]],
        counters=CountersRecord(received=int(keep.sum()), lost=0, invalid=int(np.isnan(gaze[keep, 0]).sum()))))
    return folder
