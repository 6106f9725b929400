#!/usr/bin/env python3
"""The Python module (python/clgan) against the CLI: a tiny image model's and a conditional
model's samples from Python equal `clgan sample --npy`'s bit for bit (and with a class, a seed,
given noise); a bad model file raises with its file:line:col; a missing checkpoint raises
naming it. Usage: python_module.py CLGAN SRC (CLGAN_LIBRARY names libclgan.so)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

clgan_bin, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "python"))
import clgan  # noqa: E402


def fail(msg):
    sys.exit("python_module: FAILED: " + msg)


def run(*args):
    r = subprocess.run([clgan_bin] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        fail("clgan %s: %s" % (" ".join(args), r.stderr))


with tempfile.TemporaryDirectory(prefix="clgan-python-") as d:
    dev = clgan.Device()
    for name, n in (("tiny_mnist", 16), ("tiny_cond", 32)):
        run("train", os.path.join(src, "tests", "data", name + ".yaml"), "--out",
            os.path.join(d, name), "--iters", "3", "--quiet")
        ck = os.path.join(d, name, "checkpoint.safetensors")
        g = clgan.Generator(ck, dev)
        x = g.sample(n)
        run("sample", ck, "-n", str(n), "-o", os.path.join(d, name + ".png"), "--npy",
            os.path.join(d, name))
        want = np.load(os.path.join(d, name + ".x.npy")).astype(np.float32)
        if x.size != want.size or not np.array_equal(x.ravel(), want.ravel()):
            fail("%s: Python's samples differ from clgan sample's" % name)
        z = np.load(os.path.join(d, name + ".z.npy")).astype(np.float32)
        if not np.array_equal(g.sample(n, noise=z).ravel(), want.ravel()):
            fail("%s: samples from the given noise differ" % name)
        print("python_module: %s: %d samples of %s equal clgan sample --npy's" % (name, n,
                                                                                    g.shape))
        if g.classes:
            run("sample", ck, "-n", "8", "--class", "5", "--seed", "9", "-o",
                os.path.join(d, "c.png"), "--npy", os.path.join(d, "c"))
            if not np.array_equal(g.sample(8, cls=5, seed=9).ravel(),
                                  np.load(os.path.join(d, "c.x.npy")).astype(np.float32).ravel()):
                fail("--class 5 --seed 9 differs")
            print("python_module: class 5, seed 9: equal to clgan sample's")
        g.close()
    bad = os.path.join(src, "tests", "data", "bad", "units_negative.yaml")
    try:
        clgan.Model(bad)
        fail("a bad model file loaded")
    except clgan.Error as e:
        if "units_negative.yaml:" not in str(e) or ":" not in str(e).split("yaml:", 1)[1]:
            fail("the bad model's message lacks file:line:col: %s" % e)
        print("python_module: a bad model file raises: %s" % e)
    m = clgan.Model(os.path.join(src, "tests", "data", "tiny_mnist.yaml"))
    if m.name != "tiny_mnist" or m.batch != 20:
        fail("Model: name %s, batch %d" % (m.name, m.batch))
    try:
        clgan.Generator(os.path.join(d, "none.safetensors"), dev)
        fail("a missing checkpoint opened")
    except clgan.Error as e:
        if "none.safetensors" not in str(e):
            fail("the missing checkpoint's message: %s" % e)
        print("python_module: a missing checkpoint raises: %s" % e)
