#!/usr/bin/env bash
# kennis precompute as a Slurm job array: 4 tasks, each computing one contiguous range of shards
# into a cache directory on a shared filesystem; the last task to finish merges manifest.json.
#
#   jid=$(sbatch --parsable docs/slurm-precompute.sh)
#   # a merge that always runs after the array (a no-op "already merged" when a task merged):
#   sbatch --dependency=afterany:"$jid" --wrap 'npx kennis cache merge /shared/kennis/cache/mnist'
#
# A task that failed is rerun on its own and redoes only its missing shards. A one-task array has
# SLURM_ARRAY_TASK_COUNT=1, so name the worker explicitly (KENNIS_WORKER wins over the array):
#   sbatch --array=2 --export=ALL,KENNIS_WORKER=2/4 docs/slurm-precompute.sh
# See docs/distributed.md.
#SBATCH --job-name=kennis-precompute
#SBATCH --array=0-3
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=kennis-precompute-%A_%a.log
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-.}"
# every task must write the same cache directory: name it explicitly on the shared filesystem
CACHE_DIR=/shared/kennis/cache/mnist

# --worker auto reads (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP as the
# worker index and SLURM_ARRAY_TASK_COUNT as the count; KENNIS_WORKER=i/n, if set, wins.
exec npx kennis precompute recipes/mnist.yaml \
  "cache.dir=${CACHE_DIR}" "teacher.threads=${SLURM_CPUS_PER_TASK:-0}" \
  --worker "${KENNIS_WORKER:-auto}" --json
