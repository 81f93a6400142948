#!/usr/bin/env bash
# Floating-point training throughput of qxbar against Debian's python3-torch (apt-get install
# python3-torch) on the same networks, batch size and thread count; prints images/s and the ratio.
# Usage: tests/benchmarks/train_throughput.sh [THREADS] [BATCH_SIZE] [IMAGES]
set -euo pipefail
threads=${1:-2}
batch=${2:-128}
images=${3:-20000}
here=$(cd "$(dirname "$0")" && pwd)
qxbar="$here/../../build/experiments/qxbar"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-10s %14s %14s %8s\n' network qxbar_img/s pytorch_img/s ratio
for net in lenet5 vgg-small; do
  "$qxbar" -q train --net "$net" --fp32 --epochs 1 --train-size "$images" --threads "$threads" \
    --batch-size "$batch" --out "$work/$net" > /dev/null
  ours=$(grep -o '"images_per_second": [0-9.]*' "$work/$net/metrics.json" | head -n 1 | awk '{print $2}')
  theirs=$(/usr/bin/python3 "$here/train_throughput.py" --net "$net" --images "$images" --threads "$threads" \
    --batch-size "$batch")
  awk -v net="$net" -v a="$ours" -v b="$theirs" 'BEGIN { printf "%-10s %14.1f %14.1f %8.2f\n", net, a, b, a / b }'
done
