#!/usr/bin/env bash
# Reproduces the README's chip-aware training result: from one W8A8 checkpoint, the same fine-tuning budget
# spent on ideal (fake-quantized) arithmetic and on the chip's arithmetic with its noise, both then tested
# as the chip computes over noise seeds. LR sets the fine-tuning's learning rate (0.001).
# Usage: experiments/chip_aware_recovery.sh CHECKPOINT NET TRAIN_IMAGES TEST_IMAGES NOISE_SEEDS OUT_DIR --hw CHIP [--set k=v ...]
set -euo pipefail
checkpoint=${1:?W8A8 checkpoint}
net=${2:?network of the checkpoint, e.g. lenet5}
train_images=${3:?training images for the fine-tuning}
test_images=${4:?test images}
seeds=${5:?noise seeds}
out=${6:?output folder}
shift 6
chip=("$@")
qxbar=${QXBAR:-"$(dirname "$0")/../build/experiments/qxbar"}
common=(--net "$net" --data fashion-mnist --val-size 5000 --train-size "$train_images" --seed 1 --epochs 1 --lr "${LR:-0.001}"
        --bits 8,8 --from "$checkpoint")
value() { grep -o "\"$1\": [0-9.e+-]*" "$2" | head -1 | grep -o '[0-9.e+-]*$'; }

"$qxbar" -q train "${common[@]}" --out "$out/ideal"
"$qxbar" -q train "${common[@]}" --analog "${chip[@]}" --out "$out/chip-aware"
echo "| fine-tuned on | accuracy, ideal arithmetic | on the chip (mean +- std over $seeds noise seeds) |"
echo "|---|---|---|"
for run in checkpoint ideal chip-aware; do
  model=$out/$run/model.pt
  [[ $run == checkpoint ]] && model=$checkpoint
  json=$out/$run-on-chip.json
  [[ -s $json ]] || "$qxbar" -q eval --ckpt "$model" --analog "${chip[@]}" --test-images "$test_images" \
    --noise-seeds "$seeds" --json "$json" > /dev/null
  printf '| %s | %.4f | %.4f +- %.4f |\n' "$run" "$(value ideal_test_accuracy "$json")" "$(value test_accuracy "$json")" \
    "$(value test_accuracy_std "$json")"
done
