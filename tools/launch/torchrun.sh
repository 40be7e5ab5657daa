#!/usr/bin/env bash
# Shared by tools/dist_train.sh and tools/dist_test.sh: start NPROC copies of an hpekit
# tool with torchrun (--launcher pytorch), on this node of an NNODES-node job.
#   tools/launch/torchrun.sh NPROC TOOL [tool arguments]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   MASTER_PORT or PORT (29500), PYTHON (python).
set -euo pipefail
NPROC=$1
TOOL=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${MASTER_PORT:-${PORT:-29500}}" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/$TOOL" "$@" --launcher pytorch
