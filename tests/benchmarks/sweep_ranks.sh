#!/usr/bin/env bash
# Sweep throughput on 1 and 2 MPI ranks: points per second of the pricing alone (from when every rank is
# ready to the last row stored) and of the whole command (start-up included: loading LibTorch and tracing
# the networks), the median of RUNS alternating runs each, and the 2-rank/1-rank ratios.
# Usage: tests/benchmarks/sweep_ranks.sh [SWEEP_FILE] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sweep=${1:-$here/../../experiments/sweeps/design_space.yaml}
runs=${2:-3}
qxbar="$here/../../build/experiments/qxbar"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for run in $(seq "$runs"); do
  for ranks in 1 2; do
    rm -f "$work"/points.sqlite*
    start=$(date +%s.%N)
    # Every point is priced afresh: no cost cache.
    mpirun -np "$ranks" "$qxbar" -q sweep "$sweep" --db "$work/points.sqlite" --no-cache > "$work/out"
    end=$(date +%s.%N)
    points=$(sed -n 's/.*: \([0-9]*\) points, .*/\1/p' "$work/out")
    awk -v p="$points" -v s="$start" -v e="$end" 'BEGIN { print p / (e - s) }' >> "$work/wall.$ranks"
    sed -n 's/.*s: \([0-9.]*\) points\/s/\1/p' "$work/out" >> "$work/pricing.$ranks"
  done
done
printf '%-8s %22s %22s\n' ranks "pricing points/s" "end-to-end points/s"
for ranks in 1 2; do
  printf '%-8s %22.1f %22.1f\n' "$ranks" "$(median < "$work/pricing.$ranks")" "$(median < "$work/wall.$ranks")"
done
awk -v a="$(median < "$work/pricing.2")" -v b="$(median < "$work/pricing.1")" \
    -v c="$(median < "$work/wall.2")" -v d="$(median < "$work/wall.1")" \
    'BEGIN { printf "%-8s %22.2f %22.2f\n", "2 vs 1", a / b, c / d }'
