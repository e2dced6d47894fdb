#!/usr/bin/env bash
# Set up POV Lab in ./.venv and run the demo.
#   bash scripts/setup.sh            # install everything, then run `povlab demo`
#   bash scripts/setup.sh --no-demo  # install only
# Environment:
#   POVLAB_ORT=cpu        use the CPU-only `onnxruntime` wheel instead of `onnxruntime-gpu` (never both)
#   POVLAB_TORCH_SPEC=... torch requirement for training/export (default torch==2.13.0, a CPU build)
#   POVLAB_SKIP_APT=1     do not install Debian packages (install them yourself, see README)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN_DEMO=1
[ "${1:-}" = "--no-demo" ] && RUN_DEMO=0

APT_PACKAGES="xvfb xauth libgl1 libglu1-mesa libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libxcb-cursor0 \
libdbus-1-3 libfontconfig1 libasound2 libgtk-3-0 fonts-dejavu-core xdotool"

if [ "${POVLAB_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "povlab setup: not root and no sudo: install these Debian packages yourself:$missing" >&2
        SUDO="skip"
      fi
    fi
    if [ "$SUDO" != "skip" ]; then
      echo "povlab setup: installing Debian packages:$missing"
      $SUDO apt-get update -qq
      # libasound2 is libasound2t64 on newer Debian; install what exists.
      avail=""
      for p in $missing; do
        if apt-cache show "$p" >/dev/null 2>&1; then avail="$avail $p";
        elif apt-cache show "${p}t64" >/dev/null 2>&1; then avail="$avail ${p}t64"; fi
      done
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $avail >/dev/null
    fi
  fi
fi

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] < (3,13)))'; then PY=$cand; break; fi
  done
fi
[ -n "$PY" ] || { echo "povlab setup: needs Python 3.11 or 3.12" >&2; exit 2; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
LOG=.venv/setup.log
: > "$LOG"
pipq() {  # pip, quiet: its chatter goes to the log, which is shown only when pip fails
  .venv/bin/python -m pip "$@" >>"$LOG" 2>&1 || { tail -40 "$LOG" >&2; echo "povlab setup: pip $* failed (log: $LOG)" >&2; exit 1; }
}
pipq install -q --upgrade pip

ORT_EXTRA=gpu
if [ "${POVLAB_ORT:-gpu}" = "cpu" ]; then ORT_EXTRA=cpu; .venv/bin/python -m pip uninstall -y -q onnxruntime-gpu >>"$LOG" 2>&1 || true;
else .venv/bin/python -m pip uninstall -y -q onnxruntime >>"$LOG" 2>&1 || true; fi

# torch first, from the pinned spec, so that the [train] extra is already satisfied.
echo "povlab setup: installing Python packages into .venv (a few minutes the first time)"
pipq install -q "${POVLAB_TORCH_SPEC:-torch==2.13.0}"
pipq install -q -e ".[${ORT_EXTRA},train,presentation,dev]"
# PsychoPy without its dependency set (which would drag in PyQt6 and old numpy/pillow).
pipq install -q --no-deps "psychopy>=2024.2"
# The image-region encoder (EfficientNet-Lite0 as ONNX, ~14 MB) into the cache; skipped when it is up to date.
echo "povlab setup: image-region encoder (EfficientNet-Lite0 -> ONNX)"
.venv/bin/povlab model export-image-encoder --if-stale >>"$LOG" 2>&1 \
  || { tail -20 "$LOG" >&2; echo "povlab setup: image encoder export failed (log: $LOG); image-region features stay off until \`povlab model export-image-encoder\` succeeds" >&2; }
# The detectors' and the acquisition's compiled loops (numba) into the cache now, not during the first session.
echo "povlab setup: compiling the detection and acquisition loops (about 20 s, once)"
.venv/bin/povlab compile >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; echo "povlab setup: povlab compile failed (log: $LOG)" >&2; exit 1; }
echo "povlab setup: ready in $ROOT/.venv"

if [ "$RUN_DEMO" = "1" ]; then
  export LSLAPICFG="${LSLAPICFG:-$ROOT/lsl_api.cfg}"
  exec .venv/bin/povlab demo
fi
