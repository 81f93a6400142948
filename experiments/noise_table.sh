#!/usr/bin/env bash
# Reproduces the README's noise table: accuracy of a W8A8 checkpoint on a chip with Garg et al.'s thermal
# noise, shot noise and both, against the energy per MAC (crossbar.read_energy_fj_per_cell, in units of
# noise.unit_energy_fj = 1 fJ), beside the network energy that figure costs; mean and standard deviation
# over noise seeds. ENERGIES="0.01 0.1 1 10 100" (fJ) sets the points.
# Usage: experiments/noise_table.sh CHECKPOINT [CHIP] [TEST_IMAGES] [NOISE_SEEDS] [WORKLOAD] [OUT_DIR]
# (WORKLOAD: the checkpoint's network as qxbar sim names it, lenet5-fmnist by default)
set -euo pipefail
checkpoint=${1:?checkpoint, e.g. out/analog/lenet5/w8a8/model.pt}
chip=${2:-isaac}
test_images=${3:-1000}
seeds=${4:-3}
workload=${5:-lenet5-fmnist}
out=${6:-$(dirname "$checkpoint")/noise-$chip}
qxbar=${QXBAR:-"$(dirname "$0")/../build/experiments/qxbar"}
mkdir -p "$out"
value() { grep -o "\"$1\": [0-9.e+-]*" "$2" | head -1 | grep -o '[0-9.e+-]*$'; }
declare -A noises=([thermal]="--set noise.thermal=0.01" [shot]="--set noise.shot=1"
                   [both]="--set noise.thermal=0.01 --set noise.shot=1")

echo "$chip, W8A8, $test_images test images, $seeds noise seeds: test accuracy (mean +- std)"
echo "| energy per MAC (fJ) | network energy (uJ) | thermal | shot | thermal + shot |"
echo "|---|---|---|---|---|"
for energy in ${ENERGIES:-0.01 0.1 1 10 100}; do
  "$qxbar" -q sim --net "$workload" \
    --hw "$chip" --set "crossbar.read_energy_fj_per_cell=$energy" --engine analytical --no-cache \
    --json "$out/cost-$energy.json" > /dev/null
  energy_uj=$(python3 -c "import json,sys; print('%.3f' % (json.load(open(sys.argv[1]))['total']['energy_pj'] / 1e6))" \
    "$out/cost-$energy.json")
  printf '| %s | %s |' "$energy" "$energy_uj"
  for noise in thermal shot both; do
    json=$out/$noise-$energy.json
    # shellcheck disable=SC2086
    [[ -s $json ]] || "$qxbar" eval --ckpt "$checkpoint" --analog --hw "$chip" ${noises[$noise]} \
      --set "crossbar.read_energy_fj_per_cell=$energy" --noise-seeds "$seeds" --test-images "$test_images" \
      --json "$json" > /dev/null
    printf ' %.4f +- %.4f |' "$(value test_accuracy "$json")" "$(value test_accuracy_std "$json")"
  done
  echo
done
