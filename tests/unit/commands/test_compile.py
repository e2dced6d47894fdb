"""``povlab compile``: every module with numba loops is in its list, and it reports them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli import main
from app.commands.compile import KERNEL_MODULES, kernels

ROOT = Path(__file__).resolve().parents[3]


def test_every_module_with_compiled_loops_is_listed() -> None:
    uses_numba = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "app").rglob("*.py")
                  if re.search(r"^@numba\.njit", p.read_text(encoding="utf-8"), re.MULTILINE)}
    assert uses_numba == set(KERNEL_MODULES), "add new modules with @numba.njit loops to KERNEL_MODULES"


def test_compile_reports_the_loops(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["loops"] == len(kernels()) >= 20 and out["modules"] == list(KERNEL_MODULES)
