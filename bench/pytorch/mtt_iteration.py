#!/usr/bin/python3
"""One MTT iteration the way the reference PyTorch code computes it, for a same-machine speed comparison.

Written for mim4dd (not taken from the authors' repository): it mirrors the reference's structure, which is what
costs the time there: the student's parameters as one flat vector, N steps of SGD on DSA-augmented synthetic batches
with torch.autograd.grad(create_graph=True), so the whole N-step graph stays alive, then the normalised parameter
distance to the expert and one backward pass through everything. ConvNet-3 (instance norm, ReLU, avg-pool),
CIFAR-10 shapes, generated tensors. Prints one JSON line per timed iteration and a summary.

Usage: /usr/bin/python3 bench/pytorch/mtt_iteration.py [--ipc 10] [--syn-steps 30] [--iterations 3] [--threads 2]
(Debian's python3-torch, PyTorch 1.13.)
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F


def convnet_shapes(channels=3, width=128, depth=3, classes=10, size=32):
    """(shape, init) of every tensor in order; init is a fan-in for PyTorch's default uniform, or 'ones'/'zeros'."""
    shapes = []
    for d in range(depth):
        fan_in = (channels if d == 0 else width) * 9
        shapes += [((width, channels if d == 0 else width, 3, 3), fan_in), ((width,), fan_in), ((width,), "ones"), ((width,), "zeros")]
        size //= 2
    shapes += [((classes, width * size * size), width * size * size), ((classes,), width * size * size)]
    return shapes


def init_flat(shapes, generator):
    parts = []
    for shape, init in shapes:
        if init == "ones":
            parts.append(torch.ones(shape))
        elif init == "zeros":
            parts.append(torch.zeros(shape))
        else:
            bound = 1 / math.sqrt(init)
            parts.append(torch.rand(shape, generator=generator) * 2 * bound - bound)
    return torch.cat([p.reshape(-1) for p in parts])


def forward(flat, shapes, x):
    tensors, offset = [], 0
    for s, _ in shapes:
        n = math.prod(s)
        tensors.append(flat[offset:offset + n].view(s))
        offset += n
    for d in range(3):
        w, b, gw, gb = tensors[4 * d:4 * d + 4]
        x = F.conv2d(x, w, b, padding=1)
        x = F.group_norm(x, w.shape[0], gw, gb)
        x = F.avg_pool2d(F.relu(x), 2)
    return F.linear(x.flatten(1), tensors[12], tensors[13])


def dsa(x, generator):
    """DSA's operations (colour, crop, cutout, flip, scale, rotate) at the reference's strengths, one draw per batch."""
    n = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=generator)
    x = x + (r(n, 1, 1, 1) - 0.5)                                           # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (r(n, 1, 1, 1) * 2) + mean                             # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (r(n, 1, 1, 1) + 0.5) + mean                           # contrast
    scale = 0.8 + 0.4 * r(n, 2)
    angle = (r(n) - 0.5) * 2 * 15 / 180 * math.pi
    shift = (r(n, 2) - 0.5) * 0.25
    flip = torch.where(r(n) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale[:, 0] * torch.cos(angle) * flip
    theta[:, 0, 1] = -torch.sin(angle)
    theta[:, 1, 0] = torch.sin(angle)
    theta[:, 1, 1] = scale[:, 1] * torch.cos(angle)
    theta[:, :, 2] = shift
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=True), align_corners=True)
    size = x.shape[2] // 2                                                  # cutout half the side
    cy, cx = (r(2) * x.shape[2]).long().tolist()
    mask = torch.ones_like(x[:1, :1])
    mask[..., max(cy - size // 2, 0):cy + size // 2, max(cx - size // 2, 0):cx + size // 2] = 0
    return x * mask


def iteration(syn, labels, syn_lr, start, target, shapes, steps, batch, generator):
    params = [start.clone().requires_grad_(True)]
    for _ in range(steps):
        idx = torch.randperm(syn.shape[0], generator=generator)[:batch]
        out = forward(params[-1], shapes, dsa(syn[idx], generator))
        ce = F.cross_entropy(out, labels[idx])
        grad = torch.autograd.grad(ce, params[-1], create_graph=True)[0]
        params.append(params[-1] - syn_lr * grad)
    loss = ((params[-1] - target) ** 2).sum() / ((start - target) ** 2).sum()
    loss.backward()
    return loss.item()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--syn-steps", type=int, default=30)
    p.add_argument("--batch-syn", type=int, default=0, help="0 = all images, as the CIFAR-10 IPC 10 preset")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    shapes = convnet_shapes()
    n = 10 * a.ipc
    syn = torch.randn(n, 3, 32, 32, generator=g).requires_grad_(True)
    labels = torch.arange(10).repeat_interleave(a.ipc)
    syn_lr = torch.tensor(0.01, requires_grad=True)
    start = init_flat(shapes, g)
    target = start + 0.01 * torch.randn(start.shape, generator=g)
    times = []
    for it in range(a.iterations + 1):  # the first is warm-up
        t = time.perf_counter()
        loss = iteration(syn, labels, syn_lr, start, target, shapes, a.syn_steps, a.batch_syn or n, g)
        seconds = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(json.dumps({"iteration": it, "warmup": it == 0, "seconds": round(seconds, 3), "loss": loss, "rss_max_mb": rss}), flush=True)
        if it > 0:
            times.append(seconds)
        syn.grad = None
        syn_lr.grad = None
    times.sort()
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "ipc": a.ipc, "syn_steps": a.syn_steps, "batch_syn": a.batch_syn or n,
                      "seconds_min": times[0], "seconds_median": times[len(times) // 2],
                      "rss_max_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)


if __name__ == "__main__":
    main()
