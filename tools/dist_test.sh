#!/usr/bin/env bash
# Distributed evaluation with torchrun; every sample is evaluated exactly once.
#   tools/dist_test.sh CONFIG CHECKPOINT NGPUS [test.py options]
# Multi-node and environment variables as tools/dist_train.sh: NNODES, NODE_RANK,
#   MASTER_ADDR, MASTER_PORT (or PORT), PYTHON.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NGPUS [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NGPUS=$3
shift 3
exec bash "$(dirname "$0")/launch/torchrun.sh" "$NGPUS" test.py "$CONFIG" "$CHECKPOINT" "$@"
