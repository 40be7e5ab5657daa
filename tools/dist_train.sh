#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU (per CPU process on CPU-only
# machines, gloo backend).
#   tools/dist_train.sh CONFIG NGPUS [train.py options]
# Multi-node: run the same command on every node with
#   NNODES=<nodes> NODE_RANK=<0..NNODES-1> MASTER_ADDR=<node 0 address> MASTER_PORT=<port>
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   MASTER_PORT or PORT (29500), PYTHON (python).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NGPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
NGPUS=$2
shift 2
exec bash "$(dirname "$0")/launch/torchrun.sh" "$NGPUS" train.py "$CONFIG" "$@"
