"""Build hook: the wheel carries the data POV Lab needs at run time.

The repository keeps ``assets/``, ``protocols/`` and ``lsl_api.cfg`` at its top level (where a lab finds and
edits them). A wheel has no top level, so ``build_py`` copies them into the package as ``app/_data/``, where
``app.core.paths`` finds them with ``importlib.resources``. A source checkout or an editable install has no
``app/_data`` and reads the top-level folders directly. Everything else is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RUNTIME_DATA = ("assets", "protocols", "lsl_api.cfg")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "app" / "_data"
        for name in RUNTIME_DATA:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithData})
