#!/usr/bin/env bash
# Evaluation on a Slurm cluster (--launcher slurm); every sample is evaluated once.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
# MASTER_PORT (29500) picks the port; PYTHON (python) the interpreter.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
exec bash "$(dirname "$0")/launch/srun.sh" "$PARTITION" "$JOB_NAME" test.py "$CONFIG" \
    "$CHECKPOINT" "$@"
