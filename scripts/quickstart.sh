#!/usr/bin/env bash
# The main job on the built-in default: the full ResNet-18 latency/energy table on the CIM-AQ chip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
out=out/quickstart
./build/experiments/qxbar sim --hw cimaq_default --net resnet18-imagenet --table \
  --npy "$out/resnet18_latency_table.npy" --csv "$out/resnet18_table.csv" --json "$out/resnet18_table.json" "$@"
