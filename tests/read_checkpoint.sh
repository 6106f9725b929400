#!/usr/bin/env bash
# tools/read_checkpoint.py (numpy alone) must compute what `clgan sample` computes from the same
# checkpoint and noise, for dense and convolutional generators. Usage: read_checkpoint.sh CLGAN
# SOURCE_DIR
set -euo pipefail
clgan=$1
src=$2
dir=$(mktemp -d /tmp/clgan-readckpt-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$clgan" train "$src/tests/data/tiny_gan.yaml" --out "$dir/run" --iters 6 --quiet
"$clgan" sample "$dir/run/checkpoint.safetensors" -n 32 -o "$dir/s.png" --npy "$dir/s"
# numpy comes from Debian's python3-numpy: use the interpreter that has it.
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
"$py" "$src/tools/read_checkpoint.py" "$dir/run/checkpoint.safetensors" \
    --noise "$dir/s.z.npy" --compare "$dir/s.x.npy" --tolerance 1e-5
# and a convolutional generator: reshape, upsample, transposed convolutions, batch norm with
# its running statistics, in the data range [-1, 1]
"$clgan" train "$src/tests/data/every_conv_kernel.yaml" --out "$dir/conv" --quiet
"$clgan" sample "$dir/conv/checkpoint.safetensors" -n 12 -o "$dir/c.png" --npy "$dir/c"
"$py" "$src/tools/read_checkpoint.py" "$dir/conv/checkpoint.safetensors" \
    --noise "$dir/c.z.npy" --compare "$dir/c.x.npy" --tolerance 1e-5
# and the DCGAN of the README (two iterations on Fashion-MNIST: the file setup.sh installs)
"$clgan" train "$src/models/dcgan_fashion.yaml" --out "$dir/dcgan" --iters 2 --quiet
"$clgan" sample "$dir/dcgan/checkpoint.safetensors" -n 16 -o "$dir/d.png" --npy "$dir/d"
"$py" "$src/tools/read_checkpoint.py" "$dir/dcgan/checkpoint.safetensors" \
    --noise "$dir/d.z.npy" --compare "$dir/d.x.npy" --tolerance 1e-4
# and a generator with averaged weights (train.ema), which both sample from
"$clgan" train "$src/tests/data/tiny_ema.yaml" --out "$dir/ema" --quiet
"$clgan" sample "$dir/ema/checkpoint.safetensors" -n 8 -o "$dir/e.png" --npy "$dir/e"
"$py" "$src/tools/read_checkpoint.py" "$dir/ema/checkpoint.safetensors" \
    --noise "$dir/e.z.npy" --compare "$dir/e.x.npy" --tolerance 1e-5
# and a classifier's checkpoint, which has no generator to run
"$clgan" train "$src/tests/data/tiny_classifier.yaml" --out "$dir/cls" --iters 2 --quiet
"$py" "$src/tools/read_checkpoint.py" "$dir/cls/checkpoint.safetensors" >"$dir/cls.txt"
grep -q "classifier.7.weight" "$dir/cls.txt" # (not a pipe: grep -q would end the writer early)
# and spectral norm in the generator: numpy divides by sigma = u^T W v as clgan's evaluation does
"$clgan" train "$src/tests/data/tiny_sn.yaml" --out "$dir/sn" --iters 5 --quiet
"$clgan" sample "$dir/sn/checkpoint.safetensors" -n 8 -o "$dir/sn.png" --npy "$dir/sn"
"$py" "$src/tools/read_checkpoint.py" "$dir/sn/checkpoint.safetensors" \
    --noise "$dir/sn.z.npy" --compare "$dir/sn.x.npy" --tolerance 1e-5
# and a conditional generator (a label embedding joined to the noise), a row of 8 per class
"$clgan" train "$src/tests/data/tiny_cond.yaml" --out "$dir/cond" --iters 5 --quiet
"$clgan" sample "$dir/cond/checkpoint.safetensors" -n 24 -o "$dir/co.png" --npy "$dir/co"
"$py" "$src/tools/read_checkpoint.py" "$dir/cond/checkpoint.safetensors" \
    --noise "$dir/co.z.npy" --compare "$dir/co.x.npy" --tolerance 1e-5
# and C x 1 x 1 images: the noise reshaped to 8x1x1 into a transposed convolution of kernel 7
"$clgan" train "$src/tests/data/c1x1_image.yaml" --out "$dir/c1" --quiet
"$clgan" sample "$dir/c1/checkpoint.safetensors" -n 8 -o "$dir/c1.png" --npy "$dir/c1"
"$py" "$src/tools/read_checkpoint.py" "$dir/c1/checkpoint.safetensors" \
    --noise "$dir/c1.z.npy" --compare "$dir/c1.x.npy" --tolerance 1e-5
# and a graph (issue 23): blocks used twice, add, concat, class-conditional batch norm,
# self-attention; numpy follows the layers' inputs and names tensors by their paths
"$clgan" train "$src/tests/data/tiny_graph.yaml" --out "$dir/graph" --iters 5 --quiet
"$clgan" sample "$dir/graph/checkpoint.safetensors" -n 20 -o "$dir/g.png" --npy "$dir/g"
"$py" "$src/tools/read_checkpoint.py" "$dir/graph/checkpoint.safetensors" \
    --noise "$dir/g.z.npy" --compare "$dir/g.x.npy" --tolerance 1e-5
