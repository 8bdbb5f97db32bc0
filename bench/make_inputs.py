#!/usr/bin/python3
"""Writes the large benchmark inputs into bench/out/ (never committed). Seeded: same bytes each run.

  big.pt        a ~1 GiB state_dict of float32 tensors (zip layout)
  big.legacy.pt the same, legacy layout
  adamw-20k.pt  20,000 small parameters with AdamW state (a metadata-heavy checkpoint)
  adamw-20k.pkl the adamw-20k data.pkl alone, for the pickle decode benchmark
  adamw-10k.pt  10,000 parameters with AdamW state: 40,000 storages (the JSON/msgpack bench, #16)
  mid.pt        48 float32 tensors of 2048x2048 (768 MiB): the bounded-memory conversions (#16)

`make_inputs.py adamw-10k mid` writes only the named ones.
"""
import os, sys, zipfile
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)

def big(path, legacy=False, count=64):
    if os.path.exists(path):
        return
    sd = {}
    for i in range(count):  # 64 x 16 MiB = 1 GiB
        sd[f"layers.{i}.weight"] = torch.randn(2048, 2048)
    torch.save(sd, path, _use_new_zipfile_serialization=not legacy)

def adamw(path, n=20000):
    if os.path.exists(path):
        return
    params = [torch.nn.Parameter(torch.randn(4)) for _ in range(n)]
    opt = torch.optim.AdamW(params, lr=1e-3)
    for p in params:
        p.grad = torch.randn(4)
    opt.step()
    sd = {f"p{i}": p.detach() for i, p in enumerate(params)}
    torch.save({"model": sd, "optimizer": opt.state_dict(), "epoch": 3}, path)

if __name__ == "__main__":
    only = set(sys.argv[1:])
    if only:
        if "adamw-10k" in only:
            adamw(os.path.join(OUT, "adamw-10k.pt"), 10000)
        if "mid" in only:
            big(os.path.join(OUT, "mid.pt"), count=48)
        sys.exit(0)
    adamw(os.path.join(OUT, "adamw-10k.pt"), 10000)
    big(os.path.join(OUT, "mid.pt"), count=48)
    big(os.path.join(OUT, "big.pt"))
    big(os.path.join(OUT, "big.legacy.pt"), legacy=True)
    adamw(os.path.join(OUT, "adamw-20k.pt"))
    with zipfile.ZipFile(os.path.join(OUT, "adamw-20k.pt")) as z:
        name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
        open(os.path.join(OUT, "adamw-20k.pkl"), "wb").write(z.read(name))
    print("inputs in", OUT)
