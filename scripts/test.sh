#!/usr/bin/env bash
# Builds qxbar and runs the whole test suite, then the sanitizer builds (scripts/sanitize.sh) and a short
# fuzzing of the file readers (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
bash scripts/sanitize.sh
bash scripts/fuzz.sh --runs 20000
