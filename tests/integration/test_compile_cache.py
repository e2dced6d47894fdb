"""After ``povlab compile`` (which setup runs) a session compiles nothing: numba's cache holds every loop it uses.

A fresh ``NUMBA_CACHE_DIR`` stands for a new installation; the demo session afterwards must not add a single
file to it (a loop compiled on the live path would stall the first session for seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _cache(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}


def test_a_session_after_compile_compiles_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "numba"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), LSLAPICFG=str(ROOT / "lsl_api.cfg"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "app.cli", "compile"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "compiled loops in" in done.stdout
    before = _cache(cache)
    assert any(name.endswith(".nbc") for name in before)
    demo = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--headless", "--duration", "8", "--seed", "1",
                           "--out", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    after = _cache(cache)
    assert after == before, f"compiled during the session: {sorted(set(after) - set(before))}"
