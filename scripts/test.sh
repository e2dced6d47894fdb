#!/usr/bin/env bash
# Run POV Lab's checks and tests. Installs what they need first (idempotent).
#   bash scripts/test.sh            # lint, import contracts, default tests (not slow)
#   bash scripts/test.sh -m slow    # extra pytest arguments are passed through
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-demo
export LSLAPICFG="$(pwd)/lsl_api.cfg"
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check app models tests
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
