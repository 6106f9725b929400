#!/usr/bin/env bash
# examples/train.c, a program on clgan.h alone, trains what `clgan train` trains: an image model
# and a conditional one, their checkpoints equal tensor for tensor (iteration, seed and data
# order too), and its grid is the one `clgan sample` draws from the checkpoint; a bad model
# file is an error naming file:line:col. Usage: example_train.sh CLGAN EXAMPLE SRC
set -uo pipefail
clgan=$1
example=$2
src=$3
dir=$(mktemp -d /tmp/clgan-example-train-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "example_train: FAILED: $*" >&2; exit 1; }
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
for m in tiny_mnist:64 tiny_cond:0; do
    name=${m%%:*}
    n=${m##*:}
    model=$src/tests/data/$name.yaml
    "$example" "$model" 7 "$dir/$name.safetensors" "$dir/$name.png" >"$dir/out" 2>&1 ||
        fail "$name: $(cat "$dir/out")"
    grep -q "^iter 7/7 " "$dir/out" || fail "$name: no progress line: $(cat "$dir/out")"
    "$clgan" train "$model" --out "$dir/$name" --iters 7 --quiet || fail "clgan train $name"
    same=$("$py" "$src/tests/ckpt_same.py" "$dir/$name.safetensors" \
        "$dir/$name/checkpoint.safetensors") || fail "$name: $same"
    # the grid: what clgan sample draws from the example's checkpoint (a row of 8 per class)
    nn=()
    [ "$n" != 0 ] && nn=(-n "$n")
    "$clgan" sample "$dir/$name.safetensors" "${nn[@]}" -o "$dir/$name.cli.png" >/dev/null 2>&1 ||
        fail "clgan sample $name"
    cmp -s "$dir/$name.png" "$dir/$name.cli.png" || fail "$name: the grid differs from clgan sample's"
    echo "example_train: $name: $same tensors equal to clgan train's, the grid equal to clgan sample's"
done
printf 'name: x\nnoise: {dim: 4}\ngenerator:\n  layers:\n    - {type: dense, unit: 3}\n' >"$dir/bad.yaml"
"$example" "$dir/bad.yaml" 3 "$dir/b.safetensors" "$dir/b.png" >"$dir/out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "bad.yaml:[0-9]*:[0-9]*: " "$dir/out" || fail "a bad model: exit $rc: $(cat "$dir/out")"
[ -e "$dir/b.safetensors" ] && fail "a bad model wrote a checkpoint"
echo "example_train: a bad model: exit 1, $(head -c 120 "$dir/out")"
