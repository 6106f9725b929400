#!/usr/bin/env bash
# Runs clgan's kernels in Oclgrind, an OpenCL simulator that reports out-of-bounds accesses,
# data races and API misuse, and fails on any report: the layer and GEMM suites (every kernel
# against its host reference, edge shapes, every GEMM configuration; the graphs' merges and
# gradient sums, the pools, self-attention and conditional batch norm among them, in small
# graphs), the Parzen suite, and a tiny training runs (dense, convolutional, a classifier,
# stacked data, a conditional GAN, each loss, EMA, packing, spectral norm) and evaluations
# (Parzen, FID/KID/PRDC) that go through every kernel of an iteration; gradient penalties and
# augmentation in training runs of their own. A graph's training run
# is left to the layer suite: tests/data/tiny_graph.yaml's self-attention runs its GEMMs per
# sample, and the simulator took over 8 minutes for one iteration.
# Usage: tools/oclgrind_check.sh [BUILD_DIR]   (default: build; needs Debian's oclgrind)
#
# Two settings the simulator needs: Oclgrind 21.10 cannot link cl/gemm.cl built with
# optimisations (llvm.usub.sat.i32 is missing), so kernels are built with -cl-opt-disable, in a
# program cache of their own; and CLGAN_GEMM=engine fixes the GEMM path, so that no shape is
# tuned (28 timed runs each, minutes in the simulator). CLBlast still runs in the GEMM suite.
# --uninitialized is left off: it reports false positives on float16 arithmetic.
set -uo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
command -v oclgrind >/dev/null || { echo "oclgrind_check: oclgrind is not installed (apt-get install oclgrind)" >&2; exit 1; }
work=$(mktemp -d /tmp/clgan-oclgrind-XXXXXX)
trap 'rm -rf "$work"' EXIT
export OCLGRIND_BUILD_OPTIONS=-cl-opt-disable CLGAN_GEMM=engine CLGAN_EXPECT_DEVICE=Oclgrind
export CLGAN_CACHE_DIR=$work/cache
failed=0
check() { # name, command...: runs the command under Oclgrind; any report or failure fails
    local name=$1 t0=$SECONDS
    shift
    oclgrind --check-api --data-races --log "$work/$name.log" "$@" >"$work/$name.out" 2>&1
    local rc=$?
    if [ "$rc" != 0 ] || [ -s "$work/$name.log" ]; then
        echo "oclgrind_check: $name FAILED (exit $rc); Oclgrind's reports and the output:" >&2
        head -n 60 "$work/$name.log" >&2
        tail -n 30 "$work/$name.out" >&2
        failed=1
    else
        echo "oclgrind_check: $name clean ($((SECONDS - t0)) s)"
    fi
}
check layers "$build/tests/test_layers"
check gemm "$build/tests/test_gemm" gemm
check parzen "$build/tests/test_parzen"
check train "$build/clgan" train "$src/tests/data/every_kernel.yaml" --out "$work/run" --quiet
check sample "$build/clgan" sample "$work/run/checkpoint.safetensors" -n 16 -o "$work/s.png"
check train_conv "$build/clgan" train "$src/tests/data/every_conv_kernel.yaml" --out "$work/conv" --quiet
check sample_conv "$build/clgan" sample "$work/conv/checkpoint.safetensors" -n 8 -o "$work/c.png"
check train_mnist "$build/clgan" train "$src/tests/data/tiny_mnist.yaml" --out "$work/mnist" --quiet
check eval "$build/clgan" eval "$work/mnist/checkpoint.safetensors" --parzen --samples 100 --sigmas 0.2,0.5
check train_classifier "$build/clgan" train "$src/tests/data/tiny_classifier.yaml" --out "$work/cls" --iters 3 --quiet
# gradient penalties (R1, R2, WGAN-GP through dropout) and augmentation (adaptive, with R1)
check train_penalty "$build/clgan" train "$src/tests/data/tiny_penalty.yaml" --out "$work/pen" --iters 2 --quiet
check train_augment "$build/clgan" train "$src/tests/data/tiny_ada.yaml" --out "$work/aug" --iters 4 --quiet
check eval_fid "$build/clgan" eval "$work/mnist/checkpoint.safetensors" --fid --kid --prdc --classifier "$work/cls/checkpoint.safetensors" --samples 100 --kid-subsets 2 --kid-size 50
check train_stacked "$build/clgan" train "$src/tests/data/tiny_stacked.yaml" --out "$work/stacked" --quiet
check train_cond "$build/clgan" train "$src/tests/data/tiny_cond.yaml" --out "$work/cond" --iters 3 --quiet
for t in tiny_sn tiny_pack tiny_ema tiny_wgan tiny_ra; do # the losses, optimizers, stabilisers
    check "train_${t#tiny_}" "$build/clgan" train "$src/tests/data/$t.yaml" --out "$work/$t" --iters 2 --quiet
done
exit $failed
