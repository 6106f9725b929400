#!/usr/bin/env python3
"""PyTorch reference for `clgan bench`: the paper's MNIST GAN (models/mnist_paper.yaml) trained
with Algorithm 1 (k = 1, m = 100, SGD with momentum 0.5, dropout and maxout in D) on synthetic
data, timed per iteration. Prints one JSON line per thread setting.

usage: bench_torch.py [--iters N] [--warmup N] [--threads 1,2]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Maxout(nn.Module):
    def __init__(self, n_in, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = nn.Linear(n_in, units * pieces)

    def forward(self, x):
        return self.lin(x).view(-1, self.units, self.pieces).max(dim=2).values


def models():
    g = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                      nn.Linear(1200, 784), nn.Sigmoid())
    d = nn.Sequential(nn.Dropout(0.2), Maxout(784, 240, 5), nn.Dropout(0.5), Maxout(240, 240, 5),
                      nn.Dropout(0.5), nn.Linear(240, 1))  # logits: the loss applies the sigmoid
    return g, d


def run(threads, iters, warmup, m=100):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g, d = models()
    og = torch.optim.SGD(g.parameters(), lr=0.1, momentum=0.5)
    od = torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.5)
    data = torch.rand(8000, 784)
    ones, zeros = torch.ones(m, 1), torch.zeros(m, 1)
    times = []
    for it in range(warmup + iters):
        t0 = time.perf_counter()
        # D step: m real and m generated samples
        real = data[torch.randint(0, 8000, (m,))]
        z = torch.rand(m, 100) * 3.4641016 - 1.7320508
        fake = g(z).detach()
        od.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(d(real), ones) +
                  F.binary_cross_entropy_with_logits(d(fake), zeros))
        loss_d.backward()
        od.step()
        # G step: fresh noise, non-saturating loss, no update of D
        z = torch.rand(m, 100) * 3.4641016 - 1.7320508
        og.zero_grad()
        for p in d.parameters():
            p.requires_grad_(False)
        loss_g = F.binary_cross_entropy_with_logits(d(g(z)), ones)
        loss_g.backward()
        for p in d.parameters():
            p.requires_grad_(True)
        og.step()
        if it >= warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"framework": f"pytorch {torch.__version__}", "threads": threads,
            "median_ms": med * 1e3, "samples_per_s": m / med}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    for t in a.threads.split(","):
        print(json.dumps(run(int(t), a.iters, a.warmup)), flush=True)


if __name__ == "__main__":
    main()
