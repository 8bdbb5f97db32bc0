#!/usr/bin/python3
"""What a user would write instead of `torchsave convert x.pt x.json` (issue #16's baseline):
torch.load, every tensor to nested lists with tolist(), json.dump to a file."""
import json, sys
import torch

def plain(v):
    if isinstance(v, torch.Tensor):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v

with open(sys.argv[2], "w") as f:
    json.dump(plain(torch.load(sys.argv[1])), f)
