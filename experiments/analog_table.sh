#!/usr/bin/env bash
# Reproduces the README's table of accuracy as the chip computes it: a W8A8 network trained on
# Fashion-MNIST (the runs of qat_table.sh, reused when present) evaluated on each preset with adc.bits 3..8
# and crossbar.rows_per_read 16, 32, 64 and 128, beside its exact integer evaluation.
# Usage: experiments/analog_table.sh NET FP32_EPOCHS QAT_EPOCHS [TEST_IMAGES] [OUT_DIR]
set -euo pipefail
net=${1:?network, e.g. lenet5}
fp32_epochs=${2:?FP32 epochs}
qat_epochs=${3:?QAT epochs}
test_images=${4:-0}
out=${5:-out/qat/$net}
qxbar=${QXBAR:-"$(dirname "$0")/../build/experiments/qxbar"}
common=(--net "$net" --data fashion-mnist --val-size 5000 --seed 1)

"$qxbar" train "${common[@]}" --epochs "$fp32_epochs" --fp32 --out "$out/fp32"
"$qxbar" train "${common[@]}" --epochs "$qat_epochs" --lr 0.01 --from "$out/fp32/model.pt" --out "$out/w8a8" --bits 8,8
checkpoint=$out/w8a8/model.pt
mkdir -p "$out/analog"
"$qxbar" eval --ckpt "$checkpoint" --integer --test-images "$test_images" --json "$out/analog/integer.json"
accuracy() { grep -o "\"$1\": [0-9.]*" "$2" | grep -o '[0-9.]*$'; }
echo "integer evaluation: $(accuracy integer_test_accuracy "$out/analog/integer.json")"

readings=(16 32 64 128)
for chip in neurosim_rram isaac cimaq_default; do
  echo
  echo "$chip: test accuracy by adc.bits (rows) and crossbar.rows_per_read (columns)"
  printf '| adc.bits |'; printf ' %s |' "${readings[@]}"; echo
  printf '|---|'; printf -- '---|%.0s' "${readings[@]}"; echo
  for adc in 3 4 5 6 7 8; do
    printf '| %s |' "$adc"
    for rows in "${readings[@]}"; do
      json=$out/analog/$chip-adc$adc-rows$rows.json
      [[ -s $json ]] || "$qxbar" eval --ckpt "$checkpoint" --analog --hw "$chip" --set "adc.bits=$adc" \
        --set "crossbar.rows_per_read=$rows" --test-images "$test_images" --json "$json" > /dev/null
      printf ' %s |' "$(accuracy test_accuracy "$json")"
    done
    echo
  done
done
