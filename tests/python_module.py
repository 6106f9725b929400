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

    # evaluate: the figures clgan eval --json prints, of a generator and of its samples as images
    run("train", os.path.join(src, "tests", "data", "tiny_classifier.yaml"), "--out",
        os.path.join(d, "cls"), "--iters", "20", "--quiet")
    cls = os.path.join(d, "cls", "checkpoint.safetensors")
    gck = os.path.join(d, "tiny_mnist", "checkpoint.safetensors")
    args = dict(kid=True, prdc=True, samples=300, kid_size=100, kid_subsets=20)
    import json  # noqa: E402

    def same_as_cli(got, *what, tol=1e-12):
        r = subprocess.run([clgan_bin, "eval"] + list(what) + [
            "--classifier", cls, "--fid", "--kid", "--prdc", "--samples", "300", "--kid-size",
            "100", "--kid-subsets", "20", "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("clgan eval: " + r.stderr)
        for key, v in json.loads(r.stdout).items():
            if key.startswith("seconds") or key == "measured":
                continue
            if got.get(key) != v and not (isinstance(v, float) and
                                          abs(got.get(key, 1e300) - v) <= tol * abs(v)):
                fail("evaluate: %s is %r, clgan eval %s says %r" % (key, got.get(key), what, v))

    got = clgan.evaluate(cls, generator=gck, device=dev, features_npy=os.path.join(d, "fg"),
                         **args)
    same_as_cli(got, gck)
    # the samples eval draws (tiny_mnist's range is [0, 1]), as an array against the classifier's
    # test images: the same features as the generator's; the figures of the CLI's --images of
    # them as a file (.npy in the classifier's data range, [-1, 1]: equal up to that rounding)
    g = clgan.Generator(gck, dev)
    x = g.sample(300, stream=1 << 32)
    np.save(os.path.join(d, "x.npy"), x * np.float32(2) - np.float32(1))
    as_images = clgan.evaluate(cls, images=x, device=dev, features_npy=os.path.join(d, "fx"),
                               **args)
    same_as_cli(as_images, "--images", os.path.join(d, "x.npy"), tol=1e-4)
    if not np.array_equal(np.load(os.path.join(d, "fg.gen.npy")),
                          np.load(os.path.join(d, "fx.gen.npy"))):
        fail("evaluate(images=G's samples): other features than the generator's")
    print("python_module: evaluate equals clgan eval --json of a generator (FID %.3f, KID %.5f, "
          "precision %.3f) and of its samples as an array (FID %.3f against %s)" % (
              got["fid"], got["kid"], got["precision"], as_images["fid"],
              as_images["reference"]))
    for bad, words in (({"classifier": gck, "generator": gck}, "classifier: "),
                       ({"classifier": cls, "images": x * 255}, "images: value"),
                       ({"classifier": cls, "generator": gck, "split": "dev"}, "split: ")):
        try:
            clgan.evaluate(device=dev, **bad)
            fail("evaluate %s did not raise" % bad)
        except clgan.Error as e:
            if words not in str(e):
                fail("evaluate %s: %s" % (list(bad), e))
    print("python_module: a GAN as classifier, images outside [0, 1] and an unknown split raise")
