"""The real window under Xvfb (xcb platform) on a demo session: the screenshot is not blank.

Starts its own Xvfb (and stops only that one); skipped with the reason when Xvfb is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.presentation.xvfb import Xvfb

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.xvfb
def test_demo_window_screenshot_under_xvfb(tmp_path: Path) -> None:
    if not Xvfb.available():
        pytest.skip("Xvfb is not installed (apt-get install xvfb; scripts/setup.sh does it)")
    shot = tmp_path / "shot.png"
    with Xvfb(1600, 1000) as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        proc = subprocess.run(
            [sys.executable, "-m", "app", "gui", "--demo", "--screenshot", str(shot), "--after", "15",
             "--duration", "17", "--out", str(tmp_path / "out"), "--seed", "3"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == str(shot)
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[0] > 400 and img.shape[1] > 600
    assert img.reshape(-1, 3).std(axis=0).max() > 20, "the screenshot is not blank"
    assert len(np.unique(img.reshape(-1, 3)[::37], axis=0)) > 100, "a stimulus photo is on screen"
    red = (img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)
    assert red.sum() > 20, "the gaze point is drawn"
    folder = tmp_path / "out" / "sub-demo" / "ses-01"
    assert list(folder.glob("*.xdf")), "the session was recorded"
    assert list((folder / "plots").glob("*_scanpath.png")), "plots are written next to the recording"


@pytest.mark.slow
def test_run_demo_window_returns_after_a_short_demo(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    """What ``povlab demo`` calls with a display (here offscreen), closing itself when the session ends.

    13 s: the 9 validation targets (9 s), then the first trial.
    """
    import argparse

    from app.commands.gui import run_demo_window

    args = argparse.Namespace(out=tmp_path / "out", duration=13.0, no_model=True, seed=1, headless=False)
    assert run_demo_window(args, close_when_done=True) == 0
    folder = tmp_path / "out" / "sub-demo" / "ses-01"
    assert list(folder.glob("*_session.json")) and list((folder / "plots").glob("*_heatmap.png"))
    # the end page's export button: bundle + BIDS through the real backend, with progress
    from app.commands.gui import export_session
    from app.core.errors import BundleError

    steps: list[float] = []
    report = export_session(folder, lambda f, m: steps.append(f))
    assert report.startswith("done: bundle ") and steps == [0.05, 0.5]
    assert (tmp_path / "out" / "bundles" / "sub-demo_ses-01.zip").is_file()
    assert list((tmp_path / "out" / "bids" / "sub-demo" / "ses-01").rglob("*_events.tsv"))
    with pytest.raises(BundleError, match="sub-demo_ses-01-2.zip, but the BIDS export failed: .* already in this"):
        export_session(folder, lambda f, m: None)  # a second bundle gets a new name; BIDS refuses a duplicate run
