#!/usr/bin/env bash
# Install hpekit (editable, with the test and docs extras) for the Python given as $1 (default python3).
#
# torch: an already installed torch >= 2.1 is kept (GPU users keep their own build).
# Otherwise torch==$TORCH_VERSION is installed, and on a machine without an NVIDIA GPU
# the CPU build is taken: if pip's default choice is a CUDA build, the CPU wheel index
# ($TORCH_CPU_INDEX) is used instead, so no gigabytes of CUDA libraries are pulled.
set -euo pipefail
PY=${1:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

has_gpu() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

if "$PY" -c "import torch" 2>/dev/null; then
  echo "install: keeping torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif has_gpu; then
  echo "install: NVIDIA GPU found, installing torch==$TORCH_VERSION (CUDA build)"
  "$PY" -m pip install "torch==$TORCH_VERSION"
else
  # Which file would pip take? A local '+cpu' wheel or a CPU index is fine as is.
  choice=$("$PY" -m pip install --dry-run --no-deps --quiet --report - "torch==$TORCH_VERSION" \
           | "$PY" -c "import json,sys,urllib.parse as u; print(u.unquote(json.load(sys.stdin)['install'][0]['download_info']['url']))")
  if [[ "$choice" == *"+cpu"* || "$choice" == *"/cpu/"* ]]; then
    echo "install: no GPU, installing the CPU build of torch==$TORCH_VERSION"
    "$PY" -m pip install "torch==$TORCH_VERSION"
  else
    echo "install: no GPU, installing torch==$TORCH_VERSION from the CPU index $TORCH_CPU_INDEX"
    "$PY" -m pip install "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX"
  fi
fi
"$PY" -m pip install -e ".[tests,docs]"
"$PY" -c "import hpekit, torch; print(f'install: hpekit {hpekit.__version__} with torch {torch.__version__}')"
