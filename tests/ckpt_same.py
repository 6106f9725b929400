#!/usr/bin/env python3
"""ckpt_same.py A B: two checkpoints hold the same tensors, byte for byte (the metadata, which
names the run and its time, may differ; its iteration, seed and data order may not). Prints the
tensor count; exits 1 naming the first tensor that differs."""
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8:8 + n])
    meta = head.pop("__metadata__", {})
    data = raw[8 + n:]
    return meta, {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in head.items()}


(ma, ta), (mb, tb) = read(sys.argv[1]), read(sys.argv[2])
if sorted(ta) != sorted(tb):
    sys.exit("ckpt_same: the tensors differ: %s" % sorted(set(ta) ^ set(tb)))
for k in sorted(ta):
    if ta[k] != tb[k]:
        a = np.frombuffer(ta[k], dtype=np.uint8)
        sys.exit("ckpt_same: tensor %s differs (%d of %d bytes)" % (
            k, int((a != np.frombuffer(tb[k], dtype=np.uint8)).sum()), a.size))
for k in ("iter", "seed", "epoch", "batch_in_epoch", "stream"):
    if ma.get(k) != mb.get(k):
        sys.exit("ckpt_same: metadata %s: %s against %s" % (k, ma.get(k), mb.get(k)))
print(len(ta))
