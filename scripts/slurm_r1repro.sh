#!/bin/bash
# r1repro RL on several nodes under Slurm: one torchrun agent per node, c10d rendezvous on the
# first node, one process per GPU. Usage (see docs/scaling.md):
#   sbatch --nodes=2 scripts/slurm_r1repro.sh recipes/quickstart.yaml dist.strategy=fsdp
#SBATCH --job-name=r1repro
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=32
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%j.out
set -euo pipefail

RECIPE=${1:?usage: sbatch scripts/slurm_r1repro.sh RECIPE [key=value ...]}
shift
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PORT=${PORT:-29500}
# one shared run directory on a shared filesystem; --resume makes a requeued job continue
RUN_DIR=${RUN_DIR:-runs/slurm-$SLURM_JOB_ID}

srun --kill-on-bad-exit=1 torchrun \
  --nnodes="$SLURM_NNODES" --nproc_per_node="$GPUS_PER_NODE" \
  --rdzv_id="$SLURM_JOB_ID" --rdzv_backend=c10d --rdzv_endpoint="$HEAD:$PORT" \
  -m r1repro.cli run "$RECIPE" "$@" --run-dir "$RUN_DIR" --resume
