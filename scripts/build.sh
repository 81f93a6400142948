#!/usr/bin/env bash
# Installs what is missing, then configures and builds qxbar in ./build (incremental on later runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${QXBAR_BUILD_TYPE:-Release}" > build/configure.log 2>&1 || { cat build/configure.log; exit 1; }
cmake --build build --parallel "$(nproc)"
