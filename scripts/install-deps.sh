#!/usr/bin/env bash
# Installs the Debian 12 packages qxbar builds and runs with. Idempotent: apt-get runs only when
# something is missing, so a prepared machine pays nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libsystemc-dev libtorch-dev libopenblas0-openmp libeigen3-dev libyaml-cpp-dev libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgnuplot-iostream-dev libboost-iostreams-dev libboost-filesystem-dev gnuplot-nox
  libspdlog-dev libfmt-dev nlohmann-json3-dev libsqlite3-dev libopenmpi-dev openmpi-bin zlib1g-dev libturbojpeg0-dev libpng-dev
  libglpk-dev
  clang libclang-rt-14-dev
  dataset-fashion-mnist
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
  exit 2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
