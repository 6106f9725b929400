#!/usr/bin/env bash
# examples/sample.c, a program on clgan.h alone, draws the samples `clgan sample --npy` draws:
# an image model and a conditional one, value for value; a missing checkpoint is an error that
# names it. Usage: example_sample.sh CLGAN EXAMPLE SRC
set -uo pipefail
clgan=$1
example=$2
src=$3
dir=$(mktemp -d /tmp/clgan-example-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "example_sample: FAILED: $*" >&2; exit 1; }
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
for m in tiny_mnist:16 tiny_cond:32; do
    name=${m%%:*}
    n=${m##*:}
    "$clgan" train "$src/tests/data/$name.yaml" --out "$dir/$name" --iters 3 --quiet ||
        fail "train $name"
    ck=$dir/$name/checkpoint.safetensors
    "$example" "$ck" "$dir/$name.f32" "$n" >"$dir/out" 2>&1 || fail "$name: $(cat "$dir/out")"
    "$clgan" sample "$ck" -n "$n" -o "$dir/$name.png" --npy "$dir/$name" >/dev/null 2>&1 ||
        fail "clgan sample $name"
    "$py" - "$dir/$name.f32" "$dir/$name.x.npy" <<'PY' || fail "$name: the example's samples differ from clgan sample's"
import sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype=np.float32)
b = np.load(sys.argv[2]).astype(np.float32).ravel()
assert a.shape == b.shape and a.size > 0, (a.shape, b.shape)
assert np.array_equal(a, b), float(np.abs(a - b).max())
PY
    echo "example_sample: $name: $(cat "$dir/out"), equal to clgan sample --npy"
done
"$example" "$dir/none.safetensors" "$dir/x.f32" >"$dir/out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "none.safetensors" "$dir/out" || fail "a missing checkpoint: exit $rc: $(cat "$dir/out")"
echo "example_sample: a missing checkpoint: exit 1, $(head -c 120 "$dir/out")"
