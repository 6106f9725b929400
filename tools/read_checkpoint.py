#!/usr/bin/env python3
"""Read a clgan checkpoint with numpy alone and run its generator.

A clgan checkpoint is a safetensors file: an 8-byte little-endian header length, a JSON header
(dtype, shape and byte range of every tensor, plus string metadata), then the raw tensors.
This script shows how to take a trained generator into Python:

    tools/read_checkpoint.py run/checkpoint.safetensors               # list tensors, metadata
    tools/read_checkpoint.py CKPT --noise z.npy --out x.npy           # G(z) for given noise
    tools/read_checkpoint.py CKPT --noise z.npy --compare x.npy       # check against clgan

`clgan sample CKPT --npy PREFIX` writes PREFIX.z.npy and PREFIX.x.npy for the last two.
"""
import argparse
import json
import struct
import sys

import numpy as np


def load(path):
    """Returns (metadata dict, {name: float32 array})."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        count = (b - a) // 4
        tensors[name] = np.frombuffer(data, dtype="<f4", count=count,
                                      offset=base + a).reshape(t["shape"])
    return meta, tensors


def generator(meta, tensors, z):
    """The generator's forward pass in evaluation mode (dropout off), in float32."""
    x = np.asarray(z, dtype=np.float32)
    for i, layer in enumerate(json.loads(meta["generator_layers"])):
        kind = layer["type"]
        if kind in ("dense", "maxout"):
            w = tensors[f"generator.{i}.weight"]
            b = tensors[f"generator.{i}.bias"]
            x = x @ w.T + b
            if kind == "maxout":
                x = x.reshape(len(x), layer["units"], layer["pieces"]).max(axis=2)
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "leaky_relu":
            x = np.where(x > 0, x, np.float32(layer["slope"]) * x)
        elif kind == "tanh":
            x = np.tanh(x)
        elif kind == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif kind == "dropout":
            pass  # inverted dropout: nothing to do outside training
        else:
            raise ValueError(f"unknown layer type {kind}")
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--noise", help="noise vectors, .npy of shape (n, dim)")
    ap.add_argument("--out", help="write G(noise) to this .npy file")
    ap.add_argument("--compare", help=".npy of clgan's samples for the same noise")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    meta, tensors = load(args.checkpoint)
    if not args.noise:
        print(f"{args.checkpoint}: model {meta.get('model_name')}, iteration {meta.get('iter')}, "
              f"trained on {meta.get('device')}")
        for name, t in tensors.items():
            print(f"  {name:60s} {list(t.shape)}")
        return 0
    x = generator(meta, tensors, np.load(args.noise))
    if args.out:
        np.save(args.out, x)
    if args.compare:
        want = np.load(args.compare)
        diff = float(np.max(np.abs(x - want)))
        print(f"max |numpy - clgan| = {diff:.3g} over {x.size} values")
        if not diff <= args.tolerance:
            print(f"read_checkpoint: outputs differ by more than {args.tolerance}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
