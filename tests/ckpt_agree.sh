#!/usr/bin/env bash
# clgan and tools/read_checkpoint.py agree on every file: both read a good checkpoint, and both
# refuse each damaged or crafted one of tests/ckpt_cases.py (clgan with exit 1 and a message
# naming the file and the fault, never a crash). Usage: ckpt_agree.sh CLGAN SOURCE_DIR
set -uo pipefail
clgan=$1
src=$2
dir=$(mktemp -d /tmp/clgan-ckagree-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "ckpt_agree: FAILED: $*" >&2; exit 1; }
# numpy comes from Debian's python3-numpy: use the interpreter that has it.
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3

n=0
# check MODEL [--kind]: a short run of tests/data/MODEL.yaml; its good checkpoint read by both,
# each case of ckpt_cases.py refused by both
check() {
    local model=$1 kind=${2:-}
    "$clgan" train "$src/tests/data/$model.yaml" --out "$dir/$model" --iters 6 --quiet ||
        fail "training $model"
    good=$dir/$model/checkpoint.safetensors
    "$clgan" sample "$good" -n 4 -o "$dir/s.png" >/dev/null 2>"$dir/err" || fail "clgan refuses the good $model checkpoint: $(cat "$dir/err")"
    "$py" "$src/tools/read_checkpoint.py" "$good" >/dev/null 2>"$dir/err" || fail "read_checkpoint.py refuses the good $model checkpoint: $(cat "$dir/err")"
    "$py" "$src/tests/ckpt_cases.py" "$good" "$dir/cases-$model" $kind >"$dir/cases.tsv" || fail "ckpt_cases.py"
    [ -s "$dir/cases.tsv" ] || fail "ckpt_cases.py made no case of $model"
    while IFS=$'\t' read -r name says; do
        f=$dir/cases-$model/$name.safetensors
        "$clgan" sample "$f" -n 4 -o "$dir/s.png" >/dev/null 2>"$dir/err"
        rc=$?
        [ "$rc" = 1 ] || fail "$model/$name: clgan sample exit $rc, want 1: $(cat "$dir/err")"
        grep -qF -- "clgan sample: $f: " "$dir/err" || fail "$model/$name: clgan's message does not name the file: $(cat "$dir/err")"
        grep -qF -- "$says" "$dir/err" || fail "$model/$name: clgan says '$(cat "$dir/err")', want '$says'"
        "$py" "$src/tools/read_checkpoint.py" "$f" >/dev/null 2>"$dir/err"
        rc=$?
        [ "$rc" = 1 ] || fail "$model/$name: read_checkpoint.py exit $rc, want 1: $(cat "$dir/err")"
        grep -q "^read_checkpoint: $f: " "$dir/err" || fail "$model/$name: read_checkpoint.py: $(cat "$dir/err")"
        n=$((n + 1))
    done <"$dir/cases.tsv"
}
for model in tiny_gan tiny every_conv_kernel; do check "$model"; done
# the condition and the stabilisers: their metadata and tensors
for model in tiny_cond tiny_ema tiny_sn tiny_pack tiny_graph; do check "$model" --kind; done
echo "ckpt_agree: $n crafted checkpoints, each refused by clgan and by read_checkpoint.py; the good ones read by both"
