#!/usr/bin/env bash
# clgan train --devices: one model on PoCL's pthread and basic devices at once computes the
# one-device run (issue 16), and its checkpoints resume on any number of devices.
# Usage: devices.sh CLGAN SOURCE_DIR   (POCL_DEVICES="pthread basic"; numpy from Debian)
set -uo pipefail
clgan=$1
src=$2
dir=$(mktemp -d /tmp/clgan-devices-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "devices: FAILED: $*" >&2; exit 1; }
ok() { echo "devices: ok: $*"; }
model=$src/tests/data/tiny_gan.yaml   # SGD with momentum, dropout in both networks, batch 8
train() { "$clgan" train "$model" --quiet --force "$@" 2>"$dir/err" || fail "clgan train $*: $(cat "$dir/err")"; }
# $py, close and same_stats
source "$(dirname "$0")/replica_checks.sh"

train --device pthread --iters 12 --out "$dir/one"
train --devices pthread,basic --iters 12 --out "$dir/two"
close "$dir/one/checkpoint.safetensors" "$dir/two/checkpoint.safetensors" 1e-4 1e-5
cut -d, -f6-9 "$dir/one/log.csv" >"$dir/one.stats"
cut -d, -f6-9 "$dir/two/log.csv" >"$dir/two.stats"
cmp -s "$dir/one.stats" "$dir/two.stats" || fail "the logged losses and D outputs differ: $(diff "$dir/one.stats" "$dir/two.stats" | head -4)"
ok "2 devices (pthread + basic) against 1: every tensor within 1e-4 relative, 1e-5 absolute; the log's statistics equal"

train --devices pthread,basic --iters 12 --out "$dir/again"
close "$dir/two/checkpoint.safetensors" "$dir/again/checkpoint.safetensors" 0 0
ok "a repeat on 2 devices is bit-identical"

# batch norm: a thread per device, the statistics over both devices' rows
bn=$src/tests/data/tiny_bn12.yaml
"$clgan" train "$bn" --quiet --force --device pthread --iters 12 --out "$dir/bn1" 2>"$dir/err" || fail "$(cat "$dir/err")"
"$clgan" train "$bn" --quiet --force --devices pthread,basic --iters 12 --out "$dir/bn2" 2>"$dir/err" || fail "$(cat "$dir/err")"
close "$dir/bn1/checkpoint.safetensors" "$dir/bn2/checkpoint.safetensors" 1e-4 1e-5
same_stats "$dir/bn1/log.csv" "$dir/bn2/log.csv"
ok "batch norm on 2 devices against 1: every tensor within 1e-4 relative, 1e-5 absolute; the log's statistics equal"

# a graph (issue 23): a ResNet with class-conditional batch norm, self-attention and spectral
# norm; its parameters part by rounding in the sums' order, the logged statistics within 1e-5
graph=$src/tests/data/tiny_graph.yaml
"$clgan" train "$graph" --quiet --force --device pthread --iters 12 --out "$dir/g1" 2>"$dir/err" || fail "$(cat "$dir/err")"
"$clgan" train "$graph" --quiet --force --devices pthread,basic --iters 12 --out "$dir/g2" 2>"$dir/err" || fail "$(cat "$dir/err")"
close "$dir/g1/checkpoint.safetensors" "$dir/g2/checkpoint.safetensors" 1e-4 1e-5
same_stats "$dir/g1/log.csv" "$dir/g2/log.csv" 1e-5
ok "a graph with conditional batch norm on 2 devices against 1: every tensor within 1e-4 relative, 1e-5 absolute; the log's statistics within 1e-5"

# a checkpoint of 2 devices resumes on 1 and on 4, and continues as the run that did not stop
train --devices pthread,basic --iters 6 --out "$dir/half"
for r in 1 4; do
    cp -r "$dir/half" "$dir/half$r"
    if [ "$r" = 1 ]; then devs=(--device pthread); else devs=(--devices pthread,basic,pthread,basic); fi
    train --resume "$dir/half$r/checkpoint.safetensors" --iters 12 "${devs[@]}"
    close "$dir/one/checkpoint.safetensors" "$dir/half$r/checkpoint.safetensors" 1e-4 1e-5
done
ok "a checkpoint of 2 devices resumed on 1 and on 4 devices ends within 1e-4 of the straight run"

# the benchmark of both at once against one
"$clgan" bench "$model" --devices pthread,basic --iters 3 --warmup 1 >"$dir/bench" 2>"$dir/err" || fail "bench --devices: $(cat "$dir/err")"
grep -q "2 devices (.*pthread.* + .*basic.*): median" "$dir/bench" && grep -qE "gradient reductions: .* (MB|kB) of gradients an iteration, in flight .* hidden behind" "$dir/bench" || fail "bench --devices printed: $(cat "$dir/bench")"
ok "bench --devices reports both timings and the reductions"

# refused, with the option named
"$clgan" train "$model" --devices pthread,,basic --out "$dir/bad" >/dev/null 2>"$dir/err"
[ $? = 2 ] && grep -q "^clgan train: --devices: an empty selector" "$dir/err" || fail "empty selector: $(cat "$dir/err")"
"$clgan" train "$model" --devices pthread,nope --out "$dir/bad" >/dev/null 2>"$dir/err"
[ $? = 1 ] && grep -q "^clgan train: --devices: no OpenCL device matches 'nope'" "$dir/err" || fail "unknown device: $(cat "$dir/err")"
"$clgan" train "$model" --devices pthread,basic,pthread --out "$dir/bad" >/dev/null 2>"$dir/err"
[ $? = 1 ] && grep -q "train.batch 8 does not split into 3 replicas" "$dir/err" || fail "batch 8 on 3: $(cat "$dir/err")"
"$clgan" train "$model" --device pthread --devices pthread,basic --out "$dir/bad" >/dev/null 2>"$dir/err"
[ $? = 2 ] && grep -q "^clgan train: --device and --devices conflict" "$dir/err" || fail "both options: $(cat "$dir/err")"
ok "an empty selector, an unknown device, a batch that does not split and --device with --devices are refused"
