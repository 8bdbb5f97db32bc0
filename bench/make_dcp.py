"""A 4-rank DCP checkpoint for bench/dcp.mjs: 16 float32 tensors of [rows, 2048] (Shard(0) over 4
ranks, built from local shards), ~GiB total. Usage: ../shared/tools/torch2 python3 bench/make_dcp.py OUT [GiB]"""
import datetime, os, socket, sys
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp

WORLD = 4


def worker(rank, port, out, gib):
    os.environ["USE_LIBUV"] = "0"
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=600))
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Shard
    mesh = init_device_mesh("cpu", (WORLD,))
    rows = int(gib * 2**30 / 16 / 2048 / 4)  # global rows per tensor
    g = torch.Generator().manual_seed(rank)
    sd = {f"layers.{i}.weight": DTensor.from_local(torch.rand(rows // WORLD, 2048, generator=g), mesh, [Shard(0)]) for i in range(16)}
    sd["step"] = 100
    dcp.save(sd, checkpoint_id=out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    out = sys.argv[1]
    gib = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(worker, args=(port, out, gib), nprocs=WORLD, join=True, start_method="spawn")
