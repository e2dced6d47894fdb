"""Where POV Lab's run-time data lives: in the installed package, or in the source checkout.

A wheel carries ``assets/``, ``protocols/`` and ``lsl_api.cfg`` as package data under ``app/_data/``
(``setup.py`` copies them there at build time); they are found with :mod:`importlib.resources`. A source
checkout (or an editable install) has no ``app/_data`` and uses the repository's top-level folders.
``SOURCE_ROOT`` is the checkout, or ``None`` when running from an installed wheel (training and the eager
PyTorch benchmark need the checkout's ``models/`` package).
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def _data_root() -> tuple[Path, Path | None]:
    packaged = files("app").joinpath("_data")
    if packaged.is_dir():
        # Wheels install as plain files, so the traversable is a real folder that stays valid.
        with as_file(packaged) as folder:
            return Path(folder), None
    checkout = Path(__file__).resolve().parents[2]
    return checkout, checkout


DATA_ROOT, SOURCE_ROOT = _data_root()
ROOT = SOURCE_ROOT if SOURCE_ROOT is not None else DATA_ROOT
ASSETS_DIR = DATA_ROOT / "assets"
PROTOCOLS_DIR = DATA_ROOT / "protocols"
DEMO_PROTOCOL = PROTOCOLS_DIR / "demo.toml"
LSL_CONFIG = DATA_ROOT / "lsl_api.cfg"
BUNDLED_MODEL = ASSETS_DIR / "models" / "pov_model.onnx"
