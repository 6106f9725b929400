#!/usr/bin/env bash
# Soak: trains a small model for 20,000 iterations and shows that neither the process's resident
# memory nor clgan's device memory grows: both are printed near the start and at the end.
# usage: tools/soak.sh [ITERS] [MODEL] [--device SEL]
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-20000}
model=${2:-models/ring2d.yaml}
shift $(( $# > 2 ? 2 : $# )) || true
[ -x build/clgan ] || { cmake -B build -S . >/dev/null && cmake --build build -j2 >/dev/null; }
out=$(mktemp -d /tmp/clgan-soak-XXXXXX)
trap 'rm -rf "$out"' EXIT
build/clgan train "$model" --iters "$iters" --out "$out/run" "$@" >"$out/train.log" &
pid=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0; }
sleep 5
first=$(rss)
last=$first
samples="$first"
while kill -0 "$pid" 2>/dev/null; do
    r=$(rss)
    [ "$r" != 0 ] && last=$r && samples="$samples $r"
    sleep 2
done
wait "$pid"
echo "soak: $iters iterations of $model"
echo "resident memory (KiB): after 5 s $first, at the end $last (growth $((last - first)) KiB)"
echo "resident memory samples (KiB): $samples"
tail -n 1 "$out/train.log"   # clgan's summary, with the device memory it allocated (fixed at start)
