#!/usr/bin/env python3
"""Plain-PyTorch reference for `examples/bench_train.rs`: the same two models, trained the same
way, on the same IDX files, with the same thread settings, so that the two throughputs compare
what differs (data pipeline and per-step overhead), not libtorch itself.

    python bench/pytorch_reference.py ae  [--steps 200] [--batch B] [--threads 1]
                                          [--data full|embedded] [--warmup 10]
                                          [--variant dataloader|tuned|both]
                                          [--breakdown] [--fused-adam]
    python bench/pytorch_reference.py gan [--steps 200] ...

Models (as in src/models/autoencoder.rs with AutoencoderArch::homework(10), and src/models/gan.rs
with GanKind::Gan), PyTorch default initialisation:

- ae: conv 1→8→16→32 (3×3, stride 2, padding 1/1/0) + ReLU, FC 288→64 (ReLU, dropout 0.5)
  →10; decoder FC 10→64→288 (ReLU, dropout 0.5 after each), convT 32→16 (s2, p0), 16→8 and
  8→1 (s2, p1, output padding 1), ReLU between, sigmoid. Adam lr 1e-3, batch 256, MSE.
- gan: G 100→256→512→1024→784 (LeakyReLU 0.2, tanh); D 784→1024→512→256→1 (LeakyReLU 0.2 +
  dropout 0.3). Adam lr 2e-4, β = (0.5, 0.999) for both, batch 128 (the full profile's), BCE
  with logits, real label 0.9; one D step (fake drawn under no_grad) then one G step
  (non-saturating) per batch.

Data: the IDX .gz files under data/full (or data/embedded), parsed with gzip + numpy into a
uint8 tensor [n, 1, 28, 28] (no torchvision); each batch is converted to float in [0, 1].

Variants:
- `dataloader` (the main number, what a typical PyTorch user writes, as in the homework):
  `DataLoader(TensorDataset(images_u8, labels), batch_size, shuffle=True)`.
- `tuned`: in-memory index slicing, `images.index_select(0, perm[i:i+b])`, which is what
  latentlab's `Dataset::batch` does.

Prints one line per variant, e.g.
`pytorch ae steps=200 batch=256 threads=1 data=full seconds=9.5 samples_per_s=5390.0 ...`
(`pytorch-tuned ...` for the tuned variant), then `peak_rss_mb=` (the process's peak RSS) and
`minflt_per_step=` (minor page faults per timed step).
"""

import argparse
import gzip
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path):
    """An IDX file (gzip or raw) as a numpy uint8 array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dataset, source):
    """Training images as uint8 [n, 1, 28, 28] and labels as int64 [n]."""
    base = os.environ.get("LATENTLAB_DATA") or os.path.join(ROOT, "data")
    d = os.path.join(base, source, dataset)
    images = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.copy()).view(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def exactly(x, y, count):
    """The first `count` images (repeated if there are fewer), so one epoch is exactly
    count / batch steps, as in the Rust benchmark."""
    n = x.shape[0]
    if count <= n:
        return x[:count], y[:count]
    idx = torch.arange(count) % n
    return x[idx], y[idx]


# ----------------------------------------------------------------------------- models


class Autoencoder(nn.Module):
    def __init__(self, latent=10, channels=(8, 16, 32), hidden=64, dropout=0.5):
        super().__init__()
        c1, c2, c3 = channels
        self.c3 = c3
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c2, c3, 3, stride=2, padding=0),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c3 * 9, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, latent),
        )
        self.decoder_fc = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, c3 * 9),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, 3, stride=2, padding=0),
            nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        h = self.decoder_fc(z).view(-1, self.c3, 3, 3)
        return self.decoder_conv(h)


class Generator(nn.Module):
    def __init__(self, noise=100, hidden=(256, 512, 1024), slope=0.2):
        super().__init__()
        h1, h2, h3 = hidden
        self.net = nn.Sequential(
            nn.Linear(noise, h1),
            nn.LeakyReLU(slope),
            nn.Linear(h1, h2),
            nn.LeakyReLU(slope),
            nn.Linear(h2, h3),
            nn.LeakyReLU(slope),
            nn.Linear(h3, 784),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, hidden=(256, 512, 1024), slope=0.2, dropout=0.3):
        super().__init__()
        h1, h2, h3 = hidden
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, h3),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Linear(h3, h2),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Linear(h2, h1),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Linear(h1, 1),
        )

    def forward(self, x):
        return self.net(x).view(-1)


# ----------------------------------------------------------------------------- batches


def dataloader_batches(x, y, batch):
    """What a typical PyTorch user writes (num_workers=0, the default)."""
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    for xb, yb in loader:
        yield xb, yb


def tuned_batches(x, y, batch):
    """In-memory index slicing of a permutation, like latentlab's `Dataset::batch`."""
    n = x.shape[0]
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        idx = perm[i : i + batch]
        yield x.index_select(0, idx), y.index_select(0, idx)


# ----------------------------------------------------------------------------- training


FUSED_ADAM = False


def adam(params, lr, betas=(0.9, 0.999)):
    """torch.optim.Adam with its defaults (on CPU: the per-tensor loop, as libtorch's C++ Adam
    that latentlab uses); `--fused-adam` switches to the fused ATen kernel, to measure what a
    fused optimizer would buy (not a like-for-like comparison)."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=FUSED_ADAM or None)


def ae_epoch(model, opt, batches):
    """One pass over `batches`, as in the homework: per-batch float conversion, MSE, Adam."""
    model.train()
    total, seen = 0.0, 0
    for xb, _ in batches:
        x = xb.float() / 255.0
        y = model(x)
        loss = F.mse_loss(y, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * x.shape[0]
        seen += x.shape[0]
    return total / max(seen, 1)


def gan_steps(g, d, g_opt, d_opt, batches, steps, noise=100, real_label=0.9):
    """`steps` batches of one D step and one G step each, as latentlab's `train_gan` (k = 1)."""
    g.train()
    d.train()
    done = 0
    for xb, _ in batches:
        if done == steps:
            break
        b = xb.shape[0]
        if b < 2:
            continue
        real = (xb.float() / 255.0) * 2.0 - 1.0
        # Discriminator step.
        z = torch.randn(b, noise)
        with torch.no_grad():
            fake = g(z)
        adv_r = d(real)
        adv_f = d(fake)
        d_loss = F.binary_cross_entropy_with_logits(
            adv_r, torch.full_like(adv_r, real_label)
        ) + F.binary_cross_entropy_with_logits(adv_f, torch.zeros_like(adv_f))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        _pr = torch.sigmoid(adv_r).mean().item()
        _pf = torch.sigmoid(adv_f).mean().item()
        _d = d_loss.item()
        # Generator step (non-saturating).
        z = torch.randn(b, noise)
        _labels = torch.randint(10, (b,))  # drawn by latentlab too (unused by the plain GAN)
        adv = d(g(z))
        g_loss = F.binary_cross_entropy_with_logits(adv, torch.ones_like(adv))
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        _g = g_loss.item()
        done += 1
    return done


class Phases:
    """Milliseconds per phase, summed over the timed steps."""

    def __init__(self, names):
        self.names = names
        self.ms = [0.0] * len(names)
        self.t = time.perf_counter()

    def start(self):
        self.t = time.perf_counter()

    def lap(self, i, on):
        now = time.perf_counter()
        if on:
            self.ms[i] += (now - self.t) * 1e3
        self.t = now

    def line(self, name, what, steps):
        parts = " ".join(f"{n}={ms / steps:.3f}" for n, ms in zip(self.names, self.ms))
        return (
            f"{name}-breakdown {what} steps={steps} threads={torch.get_num_threads()} "
            f"ms_per_step: {parts} total={sum(self.ms) / steps:.3f}"
        )


def ae_breakdown(args, variant, x_all, y_all):
    """`ae_epoch` taken apart, the same phases as `bench_train ae --breakdown`."""
    torch.manual_seed(42)
    model = Autoencoder()
    opt = adam(model.parameters(), 1e-3)
    make = dataloader_batches if variant == "dataloader" else tuned_batches
    b = args.batch
    x, y = exactly(x_all, y_all, (args.warmup + args.steps) * b)
    ph = Phases(["batch", "forward_loss", "backward", "optimizer", "bookkeeping"])
    model.train()
    total = 0.0
    it = iter(make(x, y, b))
    for step in range(args.warmup + args.steps):
        on = step >= args.warmup
        ph.start()
        xb, _ = next(it)
        xf = xb.float() / 255.0
        ph.lap(0, on)
        loss = F.mse_loss(model(xf), xf)
        ph.lap(1, on)
        opt.zero_grad()
        loss.backward()
        ph.lap(2, on)
        opt.step()
        ph.lap(3, on)
        total += loss.item() * b
        ph.lap(4, on)
    return ph


def gan_breakdown(args, variant, x_all, y_all):
    """`gan_steps` taken apart, the same phases as `bench_train gan --breakdown`."""
    torch.manual_seed(5)
    g, d = Generator(), Discriminator()
    g_opt = adam(g.parameters(), 2e-4, (0.5, 0.999))
    d_opt = adam(d.parameters(), 2e-4, (0.5, 0.999))
    make = dataloader_batches if variant == "dataloader" else tuned_batches
    b, noise = args.batch, 100
    x, y = exactly(x_all, y_all, (args.warmup + args.steps) * b)
    names = ["batch", "d_forward", "d_backward", "d_optimizer", "readback"]
    ph = Phases(names + ["g_forward", "g_backward", "g_optimizer"])
    g.train()
    d.train()
    it = iter(make(x, y, b))
    for step in range(args.warmup + args.steps):
        on = step >= args.warmup
        ph.start()
        xb, _ = next(it)
        real = (xb.float() / 255.0) * 2.0 - 1.0
        ph.lap(0, on)
        z = torch.randn(b, noise)
        with torch.no_grad():
            fake = g(z)
        adv_r, adv_f = d(real), d(fake)
        d_loss = F.binary_cross_entropy_with_logits(
            adv_r, torch.full_like(adv_r, 0.9)
        ) + F.binary_cross_entropy_with_logits(adv_f, torch.zeros_like(adv_f))
        ph.lap(1, on)
        d_opt.zero_grad()
        d_loss.backward()
        ph.lap(2, on)
        d_opt.step()
        ph.lap(3, on)
        torch.sigmoid(adv_r).mean().item()
        torch.sigmoid(adv_f).mean().item()
        d_loss.item()
        ph.lap(4, on)
        z = torch.randn(b, noise)
        torch.randint(10, (b,))
        adv = d(g(z))
        g_loss = F.binary_cross_entropy_with_logits(adv, torch.ones_like(adv))
        ph.lap(5, on)
        g_opt.zero_grad()
        g_loss.backward()
        ph.lap(6, on)
        g_opt.step()
        ph.lap(7, on)
        g_loss.item()
        ph.lap(4, on)
    return ph


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_ae(args, variant, x_all, y_all):
    torch.manual_seed(42)
    model = Autoencoder()
    opt = adam(model.parameters(), 1e-3)
    make = dataloader_batches if variant == "dataloader" else tuned_batches
    b = args.batch
    if args.warmup > 0:
        wx, wy = exactly(x_all, y_all, args.warmup * b)
        ae_epoch(model, opt, make(wx, wy, b))
    x, y = exactly(x_all, y_all, args.steps * b)
    f0, t0 = minor_faults(), time.perf_counter()
    ae_epoch(model, opt, make(x, y, b))
    return time.perf_counter() - t0, b, minor_faults() - f0


def bench_gan(args, variant, x_all, y_all):
    torch.manual_seed(5)
    g, d = Generator(), Discriminator()
    g_opt = adam(g.parameters(), 2e-4, (0.5, 0.999))
    d_opt = adam(d.parameters(), 2e-4, (0.5, 0.999))
    make = dataloader_batches if variant == "dataloader" else tuned_batches
    b = args.batch

    def run(steps):
        done = 0
        while done < steps:  # more epochs if the data is too small (embedded)
            done += gan_steps(g, d, g_opt, d_opt, make(x_all, y_all, b), steps - done)

    if args.warmup > 0:
        run(args.warmup)
    f0, t0 = minor_faults(), time.perf_counter()
    run(args.steps)
    return time.perf_counter() - t0, b, minor_faults() - f0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", choices=["ae", "gan"])
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 200)")
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="batch size (default: latentlab's full profile, ae 256, gan 128)",
    )
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", choices=["full", "embedded"], default="full")
    p.add_argument("--variant", choices=["dataloader", "tuned", "both"], default="dataloader")
    p.add_argument(
        "--breakdown", action="store_true", help="ms per step by phase instead of the timed run"
    )
    p.add_argument(
        "--fused-adam",
        action="store_true",
        help="experiment: Adam(fused=True); names the line pytorch-fused / pytorch-tuned-fused",
    )
    args = p.parse_args()
    global FUSED_ADAM
    FUSED_ADAM = args.fused_adam
    if args.steps is None:
        args.steps = 200
    if args.batch is None:
        args.batch = 256 if args.model == "ae" else 128
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    dataset = "fashion-mnist" if args.model == "ae" else "mnist"
    x_all, y_all = load(dataset, args.data)
    variants = ["dataloader", "tuned"] if args.variant == "both" else [args.variant]
    bench = bench_ae if args.model == "ae" else bench_gan
    breakdown = ae_breakdown if args.model == "ae" else gan_breakdown
    for variant in variants:
        name = "pytorch" if variant == "dataloader" else "pytorch-tuned"
        name += "-fused" if args.fused_adam else ""
        if args.breakdown:
            ph = breakdown(args, variant, x_all, y_all)
            print(ph.line(name, args.model, args.steps), flush=True)
            continue
        seconds, b, faults = bench(args, variant, x_all, y_all)
        print(
            f"{name} {args.model} steps={args.steps} batch={b} threads={torch.get_num_threads()} "
            f"data={args.data} seconds={seconds:.3f} "
            f"samples_per_s={args.steps * b / seconds:.1f} peak_rss_mb={peak_rss_mb():.0f} "
            f"minflt_per_step={faults / args.steps:.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
