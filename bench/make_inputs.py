#!/usr/bin/python3
"""Writes the large benchmark inputs into bench/out/ (never committed). Seeded: same bytes each run.

  big.pt        a ~1 GiB state_dict of float32 tensors (zip layout)
  big.legacy.pt the same, legacy layout
  adamw-20k.pt  20,000 small parameters with AdamW state (a metadata-heavy checkpoint)
  adamw-20k.pkl the adamw-20k data.pkl alone, for the pickle decode benchmark
"""
import os, sys, zipfile
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)

def big(path, legacy=False):
    if os.path.exists(path):
        return
    sd = {}
    for i in range(64):  # 64 x 16 MiB = 1 GiB
        sd[f"layers.{i}.weight"] = torch.randn(2048, 2048)
    torch.save(sd, path, _use_new_zipfile_serialization=not legacy)

def adamw(path):
    if os.path.exists(path):
        return
    params = [torch.nn.Parameter(torch.randn(4)) for _ in range(20000)]
    opt = torch.optim.AdamW(params, lr=1e-3)
    for p in params:
        p.grad = torch.randn(4)
    opt.step()
    sd = {f"p{i}": p.detach() for i, p in enumerate(params)}
    torch.save({"model": sd, "optimizer": opt.state_dict(), "epoch": 3}, path)

if __name__ == "__main__":
    big(os.path.join(OUT, "big.pt"))
    big(os.path.join(OUT, "big.legacy.pt"), legacy=True)
    adamw(os.path.join(OUT, "adamw-20k.pt"))
    with zipfile.ZipFile(os.path.join(OUT, "adamw-20k.pt")) as z:
        name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
        open(os.path.join(OUT, "adamw-20k.pkl"), "wb").write(z.read(name))
    print("inputs in", OUT)
