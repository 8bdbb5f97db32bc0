#!/usr/bin/python3
"""What a user writes without torchsave (bench/analyze.mjs runs it beside the CLI), torch 1.13:

    analyze_torch.py diff A B      torch.load both, the diff metrics per tensor in float64
    analyze_torch.py stats FILE... torch.load each dump in step order, per-tensor stats + update in float64
"""
import math
import os
import re
import sys

import torch


def stats(t):
    x = t.reshape(-1).to(torch.float64)
    fin = torch.isfinite(x)
    f = x[fin] if not bool(fin.all()) else x
    return (x.numel(), f.min().item(), f.max().item(), f.mean().item(), f.std().item(), f.norm().item(),
            int(torch.isnan(x).sum()), int((x == math.inf).sum()), int((x == -math.inf).sum()), int((x == 0).sum()))


def tensors(obj, prefix=()):
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from tensors(v, prefix + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from tensors(v, prefix + (i,))


def diff(a, b):
    ta = dict(tensors(torch.load(a)))
    tb = dict(tensors(torch.load(b)))
    changed = 0
    for k, x in ta.items():
        y = tb.get(k)
        if y is None or x.shape != y.shape:
            continue
        x64, y64 = x.reshape(-1).double(), y.reshape(-1).double()
        d = x64 - y64
        ad = d.abs()
        na, nb = x64.norm().item(), y64.norm().item()
        _ = (ad.max().item(), ad.mean().item(), d.norm().item() / na, (x64 @ y64).item() / (na * nb), int((d != 0).sum()))
        changed += int(not torch.equal(x, y))
    print(f"{len(ta)} tensors, {changed} changed")


def stats_run(paths):
    files = sorted(paths, key=lambda f: int(re.findall(r"\d+", os.path.basename(f))[-1]))
    prev = {}
    for f in files:
        cur = dict(tensors(torch.load(f)))
        for k, t in cur.items():
            s = stats(t)
            p = prev.get(k)
            if p is not None and p.shape == t.shape:
                _ = ((t.double() - p.double()).norm().item(), s)
        prev = cur
    print(f"{len(files)} dumps")


if __name__ == "__main__":
    if sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        stats_run(sys.argv[2:])
