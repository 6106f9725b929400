#!/usr/bin/env python3
"""Modes covered per loss, with and without packing and spectral norm, on one model.

Each cell trains a variant of MODEL (same networks, same iterations, same seed) and counts its
modes with `clgan eval --modes --json`:
  loss       train.loss; for a critic loss (least_squares, hinge, wasserstein) D's final
             sigmoid is dropped; wasserstein also gets clip 0.01, k 5 and RMSProp 5e-4 for both
             networks (Arjovsky et al. 2017)
  pack       train.pack: 2
  sn         spectral_norm: true on every dense and conv2d layer of D

  tools/loss_table.py models/ring2d.yaml --iters 5000 --seed 7
  tools/loss_table.py models/dcgan_stacked_mnist.yaml --iters 1000 --classifier CLS.safetensors

prints a Markdown table (and each cell's line as it finishes). Needs python3-yaml and a built
build/clgan; writes each variant's model file and run under --runs (default runs/loss_table).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import yaml

LOSSES = ["non_saturating", "least_squares", "hinge", "wasserstein", "relativistic"]
CRITIC = {"least_squares", "hinge", "wasserstein"}
VARIANTS = [(1, False), (2, False), (1, True), (2, True)]


def layer_type(layer):
    return layer if isinstance(layer, str) else layer.get("type")


def absolute_paths(m, model_dir):
    """The data files of model m as absolute paths, so that a variant runs from anywhere."""
    d = m.get("data", {})
    for holder in (d, d.get("test") if isinstance(d.get("test"), dict) else None):
        for key in ("path", "labels"):
            if holder and isinstance(holder.get(key), str) and not os.path.isabs(holder[key]):
                holder[key] = os.path.join(model_dir, holder[key])


def variant(base, loss, pack, sn):
    m = json.loads(json.dumps(base))  # a deep copy
    m["name"] = "%s_%s_p%d%s" % (base["name"], loss, pack, "_sn" if sn else "")
    t = m.setdefault("train", {})
    t.pop("g_loss", None)
    t["loss"] = loss
    if pack > 1:
        t["pack"] = pack
    layers = m["discriminator"]["layers"]
    if loss in CRITIC and layers and layer_type(layers[-1]) == "sigmoid":
        layers.pop()
    if loss == "wasserstein":
        t["clip"] = 0.01
        t["k"] = 5
        for net in ("generator", "discriminator"):
            t[net] = {"type": "rmsprop", "learning_rate": 0.0005}
    if sn:
        for i, layer in enumerate(layers):
            if layer_type(layer) in ("dense", "conv2d"):
                layers[i] = dict(layer) if isinstance(layer, dict) else {"type": layer}
                layers[i]["spectral_norm"] = True
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--classifier", help="digit classifier checkpoint (stacked data)")
    ap.add_argument("--runs", default="runs/loss_table")
    ap.add_argument("--clgan", default="build/clgan")
    ap.add_argument("--losses", default=",".join(LOSSES))
    a = ap.parse_args()
    with open(a.model) as f:
        base = yaml.safe_load(f)
    absolute_paths(base, os.path.dirname(os.path.abspath(a.model)))
    os.makedirs(a.runs, exist_ok=True)
    rows = {}
    for loss in a.losses.split(","):
        for pack, sn in VARIANTS:
            m = variant(base, loss, pack, sn)
            path = os.path.join(a.runs, m["name"] + ".yaml")
            with open(path, "w") as f:
                yaml.safe_dump(m, f, sort_keys=False)
            out = os.path.join(a.runs, m["name"])
            cmd = [a.clgan, "train", path, "--iters", str(a.iters), "--out", out, "--force",
                   "--quiet"]
            if a.seed is not None:
                cmd += ["--seed", str(a.seed)]
            t0 = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            secs = time.time() - t0
            if r.returncode != 0:
                cell = "failed (%s)" % r.stderr.strip().splitlines()[-1][:60]
            else:
                ev = [a.clgan, "eval", os.path.join(out, "checkpoint.safetensors"), "--modes",
                      "--json"]
                if a.classifier:
                    ev += ["--classifier", a.classifier]
                e = subprocess.run(ev, capture_output=True, text=True)
                if e.returncode != 0:
                    cell = "eval failed"
                else:
                    j = json.loads(e.stdout)
                    if "kl_uniform" in j:
                        cell = "%d, KL %.2f" % (j["covered"], j["kl_uniform"])
                    else:
                        cell = "%d of %d, %.1f%%" % (j["covered"], j["modes"],
                                                    j["high_quality_pct"])
            rows.setdefault(loss, []).append(cell)
            print("%-16s pack %d  sn %-5s  %-24s  %.0f s" % (loss, pack, sn, cell, secs),
                  file=sys.stderr, flush=True)
    print("| loss | pack 1 | pack 2 | spectral norm in D, pack 1 | spectral norm, pack 2 |")
    print("|---|---|---|---|---|")
    for loss, cells in rows.items():
        print("| %s | %s |" % (loss, " | ".join(cells)))


if __name__ == "__main__":
    main()
