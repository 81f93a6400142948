#!/usr/bin/env bash
# Builds qxbar and runs the whole test suite, then the sanitizer builds (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)"
bash scripts/sanitize.sh
