#!/usr/bin/env python3
"""PyTorch reference for `clgan bench`: a model of models/ trained with Algorithm 1 (k = 1; D on m
real and m generated samples, then G on m fresh noise samples) on synthetic data, timed per
iteration. mnist_paper: the paper's MNIST GAN (m = 100, SGD with momentum 0.5, dropout and
maxout in D). dcgan_fashion: the DCGAN of models/dcgan_fashion.yaml (m = 64, Adam 2e-4, beta1
0.5; D called on the real and on the generated batch apart, so batch norm normalises each
alone, as clgan does). sngan_fashion: the ResNets of models/sngan_fashion.yaml (m = 64, the
hinge loss, spectral norm on every layer of D, Adam 2e-4 with betas (0, 0.9)). Prints one JSON
line per thread setting; --count prints each network's parameter count (clgan check's).

usage: bench_torch.py [--model mnist_paper|dcgan_fashion|sngan_fashion] [--iters N] [--warmup N]
                      [--threads 1,2] [--count]
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


SN = nn.utils.spectral_norm  # one power iteration per forward pass in training, as clgan's


class GUp(nn.Module):
    """sngan_fashion.yaml's g_up: BN, ReLU, upsample, conv 3x3, BN, ReLU, conv 3x3, plus the
    shortcut upsample and conv 1x1."""

    def __init__(self, c_in, c):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c)
        self.conv1 = nn.Conv2d(c_in, c, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c, 1)

    def forward(self, x):
        h = self.conv1(F.interpolate(F.relu(self.bn1(x)), scale_factor=2))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DBlock(nn.Module):
    """d_first (SNGAN's optimised first block), d_down and d_same of sngan_fashion.yaml."""

    def __init__(self, c_in, c, kind):
        super().__init__()
        self.kind = kind
        self.conv1, self.conv2 = SN(nn.Conv2d(c_in, c, 3, 1, 1)), SN(nn.Conv2d(c, c, 3, 1, 1))
        self.shortcut = SN(nn.Conv2d(c_in, c, 1)) if kind != "same" else None

    def forward(self, x):
        h = x if self.kind == "first" else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.kind == "same":
            return h + x
        h = F.avg_pool2d(h, 2)
        if self.kind == "first":
            return h + self.shortcut(F.avg_pool2d(x, 2))
        return h + F.avg_pool2d(self.shortcut(x), 2)


class SumLogit(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin = SN(nn.Linear(c, 1))

    def forward(self, x):
        return self.lin(F.relu(x).sum(dim=(2, 3)))


def sngan(c=32):
    g = nn.Sequential(nn.Linear(128, c * 49), nn.Unflatten(1, (c, 7, 7)), GUp(c, c), GUp(c, c),
                      nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 1, 3, 1, 1), nn.Tanh())
    d = nn.Sequential(DBlock(1, c, "first"), DBlock(c, c, "down"), DBlock(c, c, "same"),
                      SumLogit(c))
    return g, d


def bce_losses(d_real, d_fake, d_gen):
    ones, zeros = torch.ones_like(d_real), torch.zeros_like(d_real)
    return (F.binary_cross_entropy_with_logits(d_real, ones) +
            F.binary_cross_entropy_with_logits(d_fake, zeros)), \
        lambda: F.binary_cross_entropy_with_logits(d_gen(), ones)


def hinge_losses(d_real, d_fake, d_gen):
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean(), lambda: -d_gen().mean()


MODELS = {  # name: (networks, batch, data shape, noise, optimizer)
    "mnist_paper": (models, 100, (784,),
                    lambda m: torch.rand(m, 100) * 3.4641016 - 1.7320508,
                    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5)),
    "dcgan_fashion": (dcgan, 64, (1, 28, 28), lambda m: torch.randn(m, 100),
                      lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999))),
    "sngan_fashion": (sngan, 64, (1, 28, 28), lambda m: torch.randn(m, 128),
                      lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.0, 0.9))),
}
LOSSES = {"sngan_fashion": hinge_losses}  # else the non-saturating loss on logits


def run(model, threads, iters, warmup):
    make, m, shape, noise, optimizer = MODELS[model]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g, d = make()
    og, od = optimizer(g.parameters()), optimizer(d.parameters())
    data = torch.rand(8000, *shape)
    losses = LOSSES.get(model, bce_losses)
    times = []
    for it in range(warmup + iters):
        t0 = time.perf_counter()
        # D step: m real and m generated samples
        real = data[torch.randint(0, 8000, (m,))]
        z = noise(m)
        fake = g(z).detach()
        od.zero_grad()
        loss_d, _ = losses(d(real), d(fake), None)
        loss_d.backward()
        od.step()
        # G step: fresh noise, non-saturating loss, no update of D
        z = noise(m)
        og.zero_grad()
        for p in d.parameters():
            p.requires_grad_(False)
        _, loss_g = losses(torch.zeros(m, 1), torch.zeros(m, 1), lambda: d(g(z)))
        loss_g().backward()
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
    ap.add_argument("--count", action="store_true", help="print the parameter counts")
    a = ap.parse_args()
    if a.count:
        for name, net in zip(("generator", "discriminator"), MODELS[a.model][0]()):
            print(f"{name} parameters: {sum(p.numel() for p in net.parameters()):,}")
        return
    for t in a.threads.split(","):
        print(json.dumps(run(a.model, int(t), a.iters, a.warmup)), flush=True)


if __name__ == "__main__":
    main()
