#!/usr/bin/env bash
# cmake --install into a scratch prefix, then a program built against the installed header and
# libraries alone, as a user outside the tree builds one (pkg-config), runs: examples/sample.c
# on a checkpoint, on the shared library and on the static one.
# Usage: install.sh BUILD_DIR SRC CLGAN [CC_FLAGS] (the sanitizer build's, where it has them)
set -uo pipefail
build=$1
src=$2
clgan=$3
flags=${4:-}
dir=$(mktemp -d /tmp/clgan-install-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "install: FAILED: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$dir/prefix" >"$dir/log" 2>&1 || fail "cmake --install: $(tail -5 "$dir/log")"
pc=$(dirname "$(find "$dir/prefix" -name clgan.pc | head -n 1)")
[ -n "$pc" ] || fail "no clgan.pc installed"
export PKG_CONFIG_PATH=$pc
[ -f "$dir/prefix/include/clgan.h" ] || fail "no clgan.h installed"
cc $flags -o "$dir/sample" "$src/examples/sample.c" $(pkg-config --cflags --libs clgan) 2>"$dir/cc" ||
    fail "building against the installed library: $(cat "$dir/cc")"
cc $flags -o "$dir/sample_static" "$src/examples/sample.c" $(pkg-config --cflags clgan) \
    "$(pkg-config --variable=libdir clgan)/libclgan.a" $(pkg-config --libs --static clgan | sed 's/-lclgan//') \
    2>"$dir/cc" || fail "building against the static library: $(cat "$dir/cc")"
"$clgan" train "$src/tests/data/tiny_mnist.yaml" --out "$dir/run" --iters 2 --quiet || fail "train"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir clgan) "$dir/sample" "$dir/run/checkpoint.safetensors" "$dir/a.f32" 8 >/dev/null ||
    fail "the installed shared library's program"
"$dir/sample_static" "$dir/run/checkpoint.safetensors" "$dir/b.f32" 8 >/dev/null || fail "the static program"
cmp -s "$dir/a.f32" "$dir/b.f32" || fail "the shared and the static library's samples differ"
echo "install: clgan.h, libclgan.so and libclgan.a and clgan.pc installed; a program built with pkg-config against each draws the same samples"
