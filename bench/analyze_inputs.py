#!/usr/bin/python3
"""Inputs of bench/analyze.mjs (issue #17), written by torch 1.13 into bench/out/analyze/ (never committed).

    /usr/bin/python3 bench/analyze_inputs.py [DUMPS] [MB_PER_DUMP]    # defaults: 100 dumps of 100 MB

  a.pt, b.pt   two 1 GiB checkpoints (64 float32 tensors of 2048x2048); b has 4 tensors perturbed
  run/step_<n>.pt  a run of DUMPS dumps {step, loss, model_params, model_grads}, MB_PER_DUMP each
"""
import os
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "analyze")


def main():
    dumps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    mb = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    os.makedirs(os.path.join(OUT, "run"), exist_ok=True)
    g = torch.Generator().manual_seed(0)
    if not os.path.exists(os.path.join(OUT, "b.pt")):
        a = {f"layer{i}.weight": torch.randn(2048, 2048, generator=g) for i in range(64)}
        torch.save(a, os.path.join(OUT, "a.pt"))
        b = dict(a)
        for i in (3, 17, 40, 63):
            b[f"layer{i}.weight"] = a[f"layer{i}.weight"] + 1e-3 * torch.randn(2048, 2048, generator=g)
        torch.save(b, os.path.join(OUT, "b.pt"))
    # Per dump: half params, half grads, in 1024x1024 float32 tensors (4 MiB each).
    n = max(1, mb * 1_000_000 // 2 // (4 << 20))
    params = {f"block{i}.weight": torch.randn(1024, 1024, generator=g) for i in range(n)}
    for step in range(1, dumps + 1):
        path = os.path.join(OUT, "run", f"step_{step}.pt")
        if os.path.exists(path):
            continue
        grads = {k: 1e-3 * torch.randn(1024, 1024, generator=g) for k in params}
        for k, v in params.items():
            v.add_(grads[k], alpha=-1e-2)
        torch.save({"step": step, "loss": 1.0 / step, "model_params": params, "model_grads": grads}, path)
    print(f"wrote {OUT}: a.pt, b.pt (1 GiB each), run/ ({dumps} dumps of {2 * n * 4} MiB)")


if __name__ == "__main__":
    main()
