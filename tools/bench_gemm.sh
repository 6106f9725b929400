#!/usr/bin/env bash
# Times every GEMM of a model on the engine's kernels, CLBlast and OpenBLAS, in one run.
# Installs libopenblas-dev if absent (a benchmark dependency, never the engine's).
# usage: tools/bench_gemm.sh [MODEL] [--device SEL]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/mnist_paper.yaml}
shift || true
if ! dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q "install ok installed"; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q libopenblas-dev
fi
cmake -B build -S . -DCLGAN_TOOLS=ON >/dev/null
cmake --build build --target bench_gemm -j2 >/dev/null
build/bench_gemm "$model" "$@"
