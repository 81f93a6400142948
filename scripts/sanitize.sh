#!/usr/bin/env bash
# The checking build: the libraries that run neither SystemC coroutines nor LibTorch (core, chip model,
# stores, figures) and their tests, built in ./build-sanitize with AddressSanitizer and
# UndefinedBehaviorSanitizer, then run; any report fails the run. SystemC's coroutines switch stacks
# under AddressSanitizer's feet and LibTorch is not built for it, so those two stay in the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(qxbar_core_tests qxbar_chip_tests qxbar_store_tests qxbar_plots_tests)
mkdir -p build-sanitize
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQXBAR_SANITIZE=address,undefined \
  > build-sanitize/configure.log 2>&1 || { cat build-sanitize/configure.log; exit 1; }
cmake --build build-sanitize --parallel "$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The other test binaries are not built in this tree; ctest lists them as *_NOT_BUILT.
ctest --test-dir build-sanitize --output-on-failure --parallel "$(nproc)" -E '_NOT_BUILT$|^Layers\.'
