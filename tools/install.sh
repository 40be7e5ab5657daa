#!/usr/bin/env bash
# Install hpekit (editable, with the test and docs extras) for the Python given as $1 (default python3),
# and libjemalloc2 where apt-get may install it (optional, see below).
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

# Optional, for the test suite only: the real timm (TimmBackbone's tests, its config and
# sweep entry), installed apart, into $HPEKIT_TIMM_TESTS_DIR (default: hpekit-timm-tests in
# the environment's prefix), a folder that only pytest puts on sys.path (tests/conftest.py,
# tests/timm_for_tests.py). Apart, because timm needs torchvision and for a CPU torch pip
# finds only torchvision's CUDA build, whose `import torchvision` fails ("operator
# torchvision::nms does not exist"); mmengine's Runner imports torchvision wherever it is
# installed, so it must not be in the environment. The versions are the ones pip resolves
# for requirements/timm.txt with the installed torch held as it is (torch is never
# changed). Skipped where timm already imports; HPEKIT_INSTALL_TIMM_TESTS=0 skips; a
# failure only prints a note (the real-timm tests then skip).
install_timm_for_tests() (   # a subshell: its temporary folder goes with it
  trap 'rm -rf "${tmp:-}"' EXIT
  dir=${HPEKIT_TIMM_TESTS_DIR:-$("$PY" -c 'import os, sys; print(os.path.join(sys.prefix, "hpekit-timm-tests"))')}
  want="torch $("$PY" -c 'import torch; print(torch.__version__)') $(tr -d '\n' < requirements/timm.txt | md5sum | cut -c1-12)"
  if [[ -f "$dir/.hpekit-stamp" && "$(cat "$dir/.hpekit-stamp")" == "$want" ]]; then
    echo "install: timm for the tests already in $dir"
    return 0
  fi
  tmp=$(mktemp -d)
  "$PY" -c 'import torch; print(f"torch=={torch.__version__}")' > "$tmp/constraints.txt"
  # What pip would add to this environment for timm, torch held (a dry run changes nothing).
  "$PY" -m pip install --dry-run --quiet --report "$tmp/report.json" \
      -c "$tmp/constraints.txt" -r requirements/timm.txt || return 1
  reqs=$("$PY" - "$tmp/report.json" <<'EOF'
import json, sys
items = [i['metadata'] for i in json.load(open(sys.argv[1]))['install']]
names = {m['name'].lower().replace('_', '-') for m in items}
if 'torch' in names or any(n.startswith('nvidia-') for n in names):
    sys.exit(f'install: timm for the tests would change torch ({sorted(names)}); not installed')
print(' '.join(f"{m['name']}=={m['version']}" for m in items))
EOF
  ) || return 1
  rm -rf "$dir.partial"
  # shellcheck disable=SC2086
  "$PY" -m pip install --quiet --no-deps --target "$dir.partial" $reqs || return 1
  echo "$want" > "$dir.partial/.hpekit-stamp"
  rm -rf "$dir" && mv "$dir.partial" "$dir" || return 1
  echo "install: timm for the tests in $dir: $reqs"
)
if [[ "${HPEKIT_INSTALL_TIMM_TESTS:-1}" != 0 ]]; then
  if "$PY" -c "import timm" >/dev/null 2>&1; then
    echo "install: timm imports in this environment; the tests use it"
  elif ! install_timm_for_tests; then
    echo "install: timm for the tests could not be installed (optional; the real-timm tests skip)"
  fi
fi

# Optional: jemalloc, which hpekit's tools preload with retain settings (hpekit/runtime/allocator.py;
# docs/benchmarks.md, "Allocator"): where it is missing they run on glibc's malloc as is.
# Installed with apt-get when running as root on Debian/Ubuntu; HPEKIT_INSTALL_JEMALLOC=0 skips.
if [[ "${HPEKIT_INSTALL_JEMALLOC:-1}" != 0 ]] && ! ldconfig -p 2>/dev/null | grep -q 'libjemalloc\.so\.2'; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    if timeout 300 apt-get install -y -q libjemalloc2 >/dev/null 2>&1 || \
       { timeout 300 apt-get update -q >/dev/null 2>&1 && \
         timeout 300 apt-get install -y -q libjemalloc2 >/dev/null 2>&1; }; then
      echo "install: libjemalloc2 installed (the tools preload it; HPEKIT_NO_ALLOCATOR_TUNING=1 opts out)"
    else
      echo "install: libjemalloc2 could not be installed (optional; the tools use glibc's malloc)"
    fi
  else
    echo "install: jemalloc not found (optional: apt-get install libjemalloc2 as root; the tools use glibc's malloc)"
  fi
fi
"$PY" -c "import hpekit, torch; print(f'install: hpekit {hpekit.__version__} with torch {torch.__version__}')"

# Optional, for the test suite only: rtmlib, a real client of MMPose-style RTMPose ONNX
# graphs (tests/export/test_rtmlib_client.py runs hpekit's export through it). Installed
# without its dependencies: they would add opencv-contrib-python, a second OpenCV build
# writing into the same cv2 package; what rtmlib's RTMPose path uses (numpy,
# onnxruntime, OpenCV, tqdm) is installed already or here. A failure only prints a note
# (the rtmlib test then skips); HPEKIT_INSTALL_RTMLIB_TESTS=0 skips.
if [[ "${HPEKIT_INSTALL_RTMLIB_TESTS:-1}" != 0 ]]; then
  if ! "$PY" -m pip install --quiet --no-deps "rtmlib==0.0.16" "tqdm>=4"; then
    echo "install: rtmlib for the tests could not be installed (optional; its test skips)"
  fi
fi
