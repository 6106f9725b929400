#!/usr/bin/env bash
# The paper's MNIST model in PyTorch (Debian's python3-torch, installed here if absent: a tool
# dependency, never the engine's) and in `clgan bench`, one after the other on this machine;
# prints both and the ratio of samples per second against PyTorch's best thread setting.
# usage: tools/bench_vs_torch.sh [--device SEL] [--iters N]
set -euo pipefail
cd "$(dirname "$0")/.."
iters=30
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --iters) iters=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch
fi
[ -x build/clgan ] || { cmake -B build -S . >/dev/null && cmake --build build -j2 >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== PyTorch: torch threads x OpenBLAS threads, each in its own process; the best counts"
for t in 1 2; do
    for b in 1 2; do
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$b "$py" tools/bench_torch.py --iters "$iters" \
            --threads "$t" | sed "s/}$/, \"openblas_threads\": $b}/" | tee -a "$out/torch.jsonl"
    done
done
echo "== clgan bench"
build/clgan bench models/mnist_paper.yaml --iters "$iters" --json "$out/clgan.json" "${args[@]}"
"$py" - "$out" <<'PY'
import json, sys
d = sys.argv[1]
torch = max((json.loads(l) for l in open(f"{d}/torch.jsonl")), key=lambda r: r["samples_per_s"])
clgan = json.load(open(f"{d}/clgan.json"))["results"][0]
print(f"\nPyTorch ({torch['framework']}, {torch['threads']} torch threads, "
      f"{torch['openblas_threads']} OpenBLAS threads): {torch['samples_per_s']:.0f} "
      f"samples/s ({torch['median_ms']:.1f} ms/iteration)")
print(f"clgan ({clgan['device']}): {clgan['samples_per_s']:.0f} samples/s "
      f"({clgan['median_ms']:.1f} ms/iteration)")
print(f"clgan / PyTorch: {clgan['samples_per_s'] / torch['samples_per_s']:.2f}x")
PY
