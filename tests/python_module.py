#!/usr/bin/env python3
"""The Python module (python/clgan) against the CLI: a tiny image model's and a conditional
model's samples from Python equal `clgan sample --npy`'s bit for bit (and with a class, a seed,
given noise); a bad model file raises with its file:line:col; a missing checkpoint raises
naming it; a Trainer's run equals clgan train's tensor for tensor, whole and as 3 iterations
and a resume to 7; a run directory from Python holds what clgan train writes. Usage: python_module.py CLGAN SRC (CLGAN_LIBRARY names libclgan.so)."""
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

    # Trainer: a run from Python is the CLI's, tensor for tensor; in two parts with a resume too
    py = sys.executable
    same = os.path.join(src, "tests", "ckpt_same.py")
    for name in ("tiny_mnist", "tiny_cond"):
        model = clgan.Model(os.path.join(src, "tests", "data", name + ".yaml"))
        run("train", os.path.join(src, "tests", "data", name + ".yaml"), "--out",
            os.path.join(d, name + "_cli"), "--iters", "7", "--quiet")
        cli_ck = os.path.join(d, name + "_cli", "checkpoint.safetensors")
        events = []
        t = clgan.Trainer(model, dev, iters=7, progress=events.append)
        if t.run(4) != 4 or t.run() != 7:
            fail("%s: Trainer.run did not stop at 4, then 7" % name)
        s = t.stats()
        logs = [e["iter"] for e in events if e["event"] == "log"]
        if s["iter"] != 7 or not np.isfinite(s["d_loss"]) or logs[-1] != 7 or \
                events[-1]["event"] != "done":
            fail("%s: stats %s, events %s" % (name, s, events))
        whole = os.path.join(d, name + "_py.safetensors")
        t.save(whole)
        t.close()
        r = subprocess.run([py, same, whole, cli_ck], capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s: Python's run differs from clgan train's: %s" % (name, r.stdout + r.stderr))
        half = os.path.join(d, name + "_half.safetensors")
        t = clgan.Trainer(model, dev, iters=3)
        t.run()
        t.save(half)
        t.close()
        t = clgan.Trainer(model, dev, iters=7, resume=half)
        if t.iter != 3:
            fail("%s: resumed at %d" % (name, t.iter))
        t.run()
        t.save(half)
        t.close()
        r2 = subprocess.run([py, same, half, cli_ck], capture_output=True, text=True)
        if r2.returncode != 0:
            fail("%s: 3 + a resume to 7 differs from clgan train's 7: %s" % (name, r2.stdout +
                                                                             r2.stderr))
        print("python_module: %s: Trainer's 7 iterations (log rows at %s) and 3 + a resume to 7 "
              "equal clgan train's, %s tensors" % (name, logs, r.stdout.strip()))
    try:
        clgan.Trainer(m, dev, iters=3, resume=os.path.join(d, "none.safetensors"))
        fail("a missing checkpoint resumed")
    except clgan.Error as e:
        if not str(e).startswith("resume: ") or "none.safetensors" not in str(e):
            fail("the missing resume's message: %s" % e)
        print("python_module: a missing resume raises: %s" % e)
    # a run directory from Python, as clgan train writes it
    t = clgan.Trainer(m, dev, iters=4, run_dir=os.path.join(d, "pyrun"))
    t.run()
    t.close()
    for f in ("config.yaml", "log.csv", "checkpoint.safetensors", "samples/iter_000004.png"):
        if not os.path.exists(os.path.join(d, "pyrun", f)):
            fail("run_dir: no %s" % f)
    print("python_module: run_dir holds config.yaml, log.csv, the checkpoint and the samples")
