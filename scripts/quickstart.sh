#!/usr/bin/env bash
# The main job on the built-in default (experiments/quickstart.yaml): LeNet-5 on Fashion-MNIST against the
# CIM-AQ chip, from FP32 pretraining through the policy search to the fine-tuned, evaluated policy and its
# report in out/quickstart/. Rerunning resumes; extra arguments go to `qxbar run` (e.g. --set seed=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/experiments/qxbar run experiments/quickstart.yaml --out out/quickstart --resume "$@"
