#!/usr/bin/env bash
# The checking builds. The libraries that run neither SystemC coroutines nor LibTorch (core, chip model,
# stores, figures) and their tests, built in ./build-sanitize with AddressSanitizer and
# UndefinedBehaviorSanitizer; then the SystemC engine and its tests in ./build-ubsan with
# UndefinedBehaviorSanitizer alone, since its coroutines switch stacks under AddressSanitizer's feet. Any
# report fails the run. LibTorch is not built for either, so the networks and searches stay in the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# check TREE SANITIZERS TARGETS...
check() {
  local tree=$1 sanitizers=$2
  shift 2
  mkdir -p "$tree"
  cmake -S . -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQXBAR_SANITIZE="$sanitizers" \
    > "$tree/configure.log" 2>&1 || { cat "$tree/configure.log"; exit 1; }
  cmake --build "$tree" --parallel "$(nproc)" --target "$@"
  # The other test binaries are not built in this tree; ctest lists them as *_NOT_BUILT.
  ctest --test-dir "$tree" --output-on-failure --parallel "$(nproc)" -E '_NOT_BUILT$|^Layers\.'
}

check build-sanitize address,undefined qxbar_core_tests qxbar_chip_tests qxbar_store_tests qxbar_plots_tests
check build-ubsan undefined qxbar_sim_tests
