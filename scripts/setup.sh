#!/usr/bin/env bash
# Sets up everything costmodel needs on a fresh machine (idempotent; safe to re-run):
#   - a virtual environment in .venv
#   - torch pinned to 2.13.0 (the local CPU build) BEFORE the project, so nothing pulls a CUDA build
#   - the project, editable, with all extras and dev tools
#   - headless Chromium + ChromeDriver for the browser tests and static plot export (Debian apt)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# numpy with torch: torch imported without numpy prints "Failed to initialize NumPy".
echo "setup: installing torch 2.13.0 (CPU build) and numpy"
"$VPY" -m pip install -q torch==2.13.0 "numpy>=1.26" 2>&1 | grep -v -E "^WARNING: Location" || true
echo "setup: installing costmodel with all extras and dev tools"
"$VPY" -m pip install -q -e ".[all,dev]" 2>&1 | grep -v -E "^WARNING: Location" || true
echo "setup: checking the installation"
"$VPY" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
"$VPY" -c "import costmodel, fvcore, dash, matplotlib, onnxruntime"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium and chromium-driver (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup: chromium not installed and apt-get unavailable; browser tests will be skipped" >&2
  fi
fi
echo "setup: ready ($("$VPY" --version), torch $("$VPY" -c 'import torch; print(torch.__version__)'))"
