from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_protocol(tmp_path: Path) -> Path:
    """The demo protocol cut to one practice and two trials with short timing."""
    text = (ROOT / "protocols" / "demo.toml").read_text()
    text = text.replace('"../assets/', f'"{ROOT}/assets/')
    text = text.replace("fixation_cross_s = 1.0", "fixation_cross_s = 0.3")
    text = text.replace("max_trial_s = 8.0", "max_trial_s = 2.5").replace("inter_trial_s = 0.5", "inter_trial_s = 0.2")
    head, _, rest = text.partition("[[practice]]")
    practice = "[[practice]]" + rest.split("[[practice]]")[1]
    trials = rest.split("[[trials]]")
    text = head + practice.split("[[trials]]")[0] + "[[trials]]" + trials[1] + "[[trials]]" + trials[2]
    path = tmp_path / "short.toml"
    path.write_text(text)
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test only (a disk that fills up); skipped where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip() or 'needs root'})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
