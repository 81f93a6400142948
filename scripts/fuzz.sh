#!/usr/bin/env bash
# Fuzzes the readers of user files that need neither SystemC nor LibTorch (chip descriptions, CIM-AQ
# layer files, policies in YAML, .npy and the compact summary) with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer,
# built with clang in ./build-fuzz. Each target starts from a seed corpus of the repository's own files.
#   scripts/fuzz.sh                    1,000,000 executions per target
#   scripts/fuzz.sh --runs 20000       the test suite's smoke run
#   scripts/fuzz.sh --seconds S [TARGET...]
# The mutations are seeded (-seed=1), so a run of so many executions explores the same inputs every time.
# A layer at the documented bound of 2^24 crossbars prices in about 1 s, 15 s under the sanitizers: an
# input is a hang only after 60 s.
# A finding (crash, an input running 60 s, sanitizer report, exception other than qxbar's user errors) stops with its input saved
# in build-fuzz/findings/ and exit code 1.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-runs=1000000)
case "${1:-}" in
  --runs) limit=(-runs="$2"); shift 2 ;;
  --seconds) limit=(-max_total_time="$2"); shift 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(chip layers policy)

mkdir -p build-fuzz
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQXBAR_FUZZ=ON \
  -DQXBAR_BUILD_TESTS=OFF -DQXBAR_SANITIZE=address,undefined,fuzzer-no-link \
  > build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz --parallel "$(nproc)" --target "${targets[@]/#/qxbar_fuzz_}"

# Seeds: the presets, the layer files of the tests, and policies in each form (first byte: 0 YAML, 1 .npy,
# 2 summary), per-channel widths among them.
seeds=build-fuzz/seeds
mkdir -p "$seeds/chip" "$seeds/layers" "$seeds/policy" build-fuzz/findings
cp hw_configs/*.yaml "$seeds/chip/"
cp tests/data/*_layer_dimensions.yaml "$seeds/layers/"
printf '\0layers:\n  conv1: {w_bits: 8, a_bits: 8}\n  conv2: {w_bits: 4, a_bits: 6}\n  fc1: {w_bits: 2, a_bits: 8}\n  fc2: {w_bits: 8, a_bits: 3}\n  fc3: {w_bits: 8, a_bits: 8, read_energy_fj_per_cell: 2.5}\n' \
  > "$seeds/policy/policy.yaml"
printf '\0layers:\n  conv1: {w_bits: [8, 4, 4, 2, 2, 8], a_bits: 8}\n  conv2: {w_bits: 4, a_bits: 6}\n  fc1: {w_bits: 2, a_bits: 8}\n  fc2: {w_bits: 8, a_bits: 3}\n  fc3: {w_bits: 8, a_bits: 8}\n' \
  > "$seeds/policy/per_channel.yaml"
printf '\2[8x1,4x2,2x2,8x1]/8;4/6;2/8;8/3@2.5;8/8' > "$seeds/policy/summary.txt"
python3 - "$seeds/policy/policy.npy" <<'PY'
import struct, sys
header = "{'descr': '<i8', 'fortran_order': False, 'shape': (5, 2), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
data = struct.pack("<10q", 8, 8, 4, 6, 2, 8, 8, 3, 8, 8)
open(sys.argv[1], "wb").write(b"\x01" + b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
PY

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  log=build-fuzz/$target.log
  # libFuzzer's leak check after every input that allocates more than it frees would run on nearly every
  # input (each reader notes its input file for the output rules, a set that grows), at 25 times the cost
  # of the input itself; LeakSanitizer still checks the whole run when the process ends.
  if ! "build-fuzz/tests/fuzz/qxbar_fuzz_$target" "${limit[@]}" -seed=1 -timeout=60 -detect_leaks=0 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/findings/$target-" "$corpus" "$seeds/$target" > "$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $target: a finding, input saved in build-fuzz/findings/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  seconds=$(sed -n 's/^stat::.*average_exec_per_sec: *//p' "$log")
  echo "fuzz: $target: $runs executions clean, $seconds per second"
done
