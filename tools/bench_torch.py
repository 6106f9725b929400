#!/usr/bin/env python3
"""PyTorch reference for `clgan bench`: a model of models/ trained with Algorithm 1 (k = 1; D on m
real and m generated samples, then G on m fresh noise samples) on synthetic data, timed per
iteration. mnist_paper: the paper's MNIST GAN (m = 100, SGD with momentum 0.5, dropout and
maxout in D). dcgan_fashion: the DCGAN of models/dcgan_fashion.yaml (m = 64, Adam 2e-4, beta1
0.5; D called on the real and on the generated batch apart, so batch norm normalises each
alone, as clgan does). Prints one JSON line per thread setting.

usage: bench_torch.py [--model mnist_paper|dcgan_fashion] [--iters N] [--warmup N] [--threads 1,2]
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


def dcgan():
    def init(mod):  # DCGAN's N(0, 0.02) for every weight, as models/dcgan_fashion.yaml declares
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            nn.init.zeros_(mod.bias)
    g = nn.Sequential(nn.Linear(100, 6272), nn.BatchNorm1d(6272), nn.ReLU(),
                      nn.Unflatten(1, (128, 7, 7)),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(6272, 1))  # logits
    g.apply(init)
    d.apply(init)
    return g, d


MODELS = {  # name: (networks, batch, data shape, noise, optimizer)
    "mnist_paper": (models, 100, (784,),
                    lambda m: torch.rand(m, 100) * 3.4641016 - 1.7320508,
                    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5)),
    "dcgan_fashion": (dcgan, 64, (1, 28, 28), lambda m: torch.randn(m, 100),
                      lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999))),
}


def run(model, threads, iters, warmup):
    make, m, shape, noise, optimizer = MODELS[model]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g, d = make()
    og, od = optimizer(g.parameters()), optimizer(d.parameters())
    data = torch.rand(8000, *shape)
    ones, zeros = torch.ones(m, 1), torch.zeros(m, 1)
    times = []
    for it in range(warmup + iters):
        t0 = time.perf_counter()
        # D step: m real and m generated samples
        real = data[torch.randint(0, 8000, (m,))]
        z = noise(m)
        fake = g(z).detach()
        od.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(d(real), ones) +
                  F.binary_cross_entropy_with_logits(d(fake), zeros))
        loss_d.backward()
        od.step()
        # G step: fresh noise, non-saturating loss, no update of D
        z = noise(m)
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
    return {"framework": f"pytorch {torch.__version__}", "model": model, "threads": threads,
            "median_ms": med * 1e3, "samples_per_s": m / med}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="mnist_paper")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    for t in a.threads.split(","):
        print(json.dumps(run(a.model, int(t), a.iters, a.warmup)), flush=True)


if __name__ == "__main__":
    main()
