"""A non-editable install works away from the source tree: the wheel carries its assets, protocols and LSL config.

The wheel is built from this checkout and installed into a fresh virtual environment; its dependencies
come from the test environment's site-packages (a ``.pth`` line), so the test needs no network. Then
``povlab demo --headless`` runs from an empty folder elsewhere with no ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh environment's bin folder, with POV Lab installed from a wheel of this checkout."""
    base = tmp_path_factory.mktemp("wheel")
    wheels, env_dir = base / "dist", base / "venv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                  str(ROOT)], cwd=base, env=env, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("povlab-*.whl")
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    fresh_site = Path(_run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           cwd=base, env=env, timeout=60).stdout.strip())
    # the dependencies (numpy, pylsl, onnxruntime, ...) from the test environment, after the fresh site-packages
    (fresh_site / "povlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                cwd=base, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return bin_dir


def test_the_installed_package_finds_its_data_inside_itself(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = ("import json, app, app.core.paths as p; print(json.dumps({'app': app.__file__, 'cfg': str(p.LSL_CONFIG), "
             "'demo': str(p.DEMO_PROTOCOL), 'model': str(p.BUNDLED_MODEL), 'source': str(p.SOURCE_ROOT)}))")
    out = _run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    where = json.loads(out.stdout)
    site = str(installed.parent)
    assert where["app"].startswith(site), where
    for key in ("cfg", "demo", "model"):
        assert where[key].startswith(site) and Path(where[key]).is_file(), (key, where)
    assert where["source"] == "None"
    assert Path(where["cfg"]).read_text() == (ROOT / "lsl_api.cfg").read_text()


def test_demo_runs_headless_from_another_folder(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = _run([str(installed / "povlab"), "demo", "--headless", "--out", str(tmp_path / "data")],
               cwd=tmp_path, env=env, timeout=400)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    folder = Path(out.stdout.strip().splitlines()[-1])
    assert folder.is_dir() and folder.is_relative_to(tmp_path / "data")
    (xdf,) = folder.glob("*.xdf")
    assert xdf.stat().st_size > 10_000
    (meta,) = folder.glob("*_session.json")
    assert json.loads(meta.read_text())["status"] == "complete"
