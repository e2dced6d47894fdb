"""Where the repository's data lives when POV Lab runs from a checkout or an install."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = ROOT / "assets"
PROTOCOLS_DIR = ROOT / "protocols"
DEMO_PROTOCOL = PROTOCOLS_DIR / "demo.toml"
LSL_CONFIG = ROOT / "lsl_api.cfg"
BUNDLED_MODEL = ASSETS_DIR / "models" / "pov_model.onnx"
