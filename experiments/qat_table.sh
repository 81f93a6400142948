#!/usr/bin/env bash
# Reproduces the QAT accuracy table of the README for one network on Fashion-MNIST:
# FP32 pretraining, then W8A8, W4A4 (LSQ and PACT), W2A2 (LSQ) and a mixed policy, each fine-tuned from
# the FP32 checkpoint, and each quantized model evaluated once more as deployed: batch norms folded,
# integer arithmetic. Usage: experiments/qat_table.sh NET FP32_EPOCHS QAT_EPOCHS [OUT_DIR]
set -euo pipefail
net=${1:?network, e.g. lenet5}
fp32_epochs=${2:?FP32 epochs}
qat_epochs=${3:?QAT epochs}
out=${4:-out/qat/$net}
qxbar=${QXBAR:-"$(dirname "$0")/../build/experiments/qxbar"}
common=(--net "$net" --data fashion-mnist --val-size 5000 --seed 1)

"$qxbar" train "${common[@]}" --epochs "$fp32_epochs" --fp32 --out "$out/fp32"
finetune() {
  local name=$1
  shift
  "$qxbar" train "${common[@]}" --epochs "$qat_epochs" --lr 0.01 --from "$out/fp32/model.pt" --out "$out/$name" "$@"
  "$qxbar" eval --ckpt "$out/$name/model.pt" --data fashion-mnist --integer
}
finetune w8a8 --bits 8,8
finetune w4a4-lsq --bits 4,4 --quantizer lsq
finetune w4a4-pact --bits 4,4 --quantizer pact
finetune w2a2-lsq --bits 2,2 --quantizer lsq
# Mixed: first and last layer at 8/8, the layers between at 4-bit weights and 6-bit inputs.
finetune mixed-lsq --bits 4,6 --force-first-last --quantizer lsq
for run in "$out"/*/; do
  printf '%-30s %s %s\n' "$run" "$(grep -o '"test_accuracy": [0-9.]*' "$run/metrics.json")" \
    "$(grep -o '"integer_test_accuracy": [0-9.]*' "$run/eval.json" 2>/dev/null || true)"
done
