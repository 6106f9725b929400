#!/usr/bin/env python3
"""FID sanity checks for a domain classifier: real training images, corrupted by Gaussian noise
of growing strength and by Gaussian blur of growing width, measured against the test split with
`clgan eval --images`; FID must grow with each. Also pure noise images. numpy only.

usage: tools/fid_sanity.py CLASSIFIER.safetensors IMAGES.idx[.gz] [--clgan build/clgan]
       [--n 10000] [--range -1 1]

IMAGES are the training images of the classifier's domain (e.g. Fashion-MNIST's
train-images-idx3-ubyte.gz); the reference is the test split of the classifier's model.
Prints one line per set and exits 1 if a sequence is not increasing.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def read_idx(path, n):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        b = f.read()
    if b[2] != 8 or b[3] != 3:
        sys.exit(f"{path}: not an IDX file of unsigned-byte images")
    count, h, w = (int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    x = np.frombuffer(b, np.uint8, count * h * w, 16).reshape(count, h, w)
    return x[:n].astype(np.float32) / 255.0


def blur(x, sigma):
    r = int(3 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, ((0, 0), (r, r), (r, r)), mode="edge")
    y = sum(k[i] * pad[:, :, i:i + x.shape[2]] for i in range(2 * r + 1))
    return sum(k[i] * y[:, i:i + x.shape[1], :] for i in range(2 * r + 1))


def fid(args, x01, tmp, tag):
    lo, hi = args.range
    path = os.path.join(tmp, tag + ".npy")
    np.save(path, (lo + (hi - lo) * x01).astype(np.float32))
    out = subprocess.run([args.clgan, "eval", "--images", path, "--classifier", args.classifier,
                          "--fid", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return json.loads(out.stdout)["fid"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("classifier")
    ap.add_argument("images")
    ap.add_argument("--clgan", default="build/clgan")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--range", type=float, nargs=2, default=[-1.0, 1.0])
    args = ap.parse_args()
    x = read_idx(args.images, args.n)
    rng = np.random.default_rng(0)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, levels, f in (
                ("gaussian noise, stddev", [0, 0.05, 0.1, 0.2, 0.4],
                 lambda s: np.clip(x + s * rng.standard_normal(x.shape, np.float32), 0, 1)),
                ("gaussian blur, sigma (pixels)", [0, 0.5, 1, 1.5, 2],
                 lambda s: blur(x, s) if s > 0 else x)):
            prev = -1.0
            for s in levels:
                v = fid(args, f(s), tmp, "set")
                print(f"{name} {s:g}: FID {v:.3f}")
                ok = ok and v > prev
                prev = v
        u = rng.random(x.shape, np.float32)
        print(f"uniform noise images: FID {fid(args, u, tmp, 'noise'):.3f}")
    print("monotone: yes" if ok else "monotone: NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
