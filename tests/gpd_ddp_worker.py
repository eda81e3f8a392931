"""Run by tests/test_gpd_ddp.py under torch.distributed.run (2 processes, gloo): `gpd adapt` and
`gpd distill`, uninterrupted and stopped-then-resumed, each rank dumping its live replica and what it
would draw next; rank 1 records every file it writes below the run folders (it should write none)."""
import json
import os
import sys
from pathlib import Path

import torch
from ddp_support import record_writes

from gandistill.gpd import AdaptConfig, GPDDistillConfig, adapt, distill

root = Path(sys.argv[1])
runs, dumps = root / "runs", root / "dumps"
rank = int(os.environ["RANK"])
torch.set_num_threads(1)
writes = record_writes(runs) if rank != 0 else []


def dump(name: str, networks: tuple[str, ...], next_draw):
    def on_finish(objs: dict) -> None:
        state = {f"{net}.{k}": v.detach().clone() for net in networks for k, v in objs[net].state_dict().items()}
        with torch.random.fork_rng():  # what this rank would draw next: ranks must differ
            state["next_draw"] = next_draw(objs)
        torch.save(state, dumps / f"{name}-rank{rank}.pt")
    return on_finish


def adapt_draw(objs: dict) -> torch.Tensor:  # latents (per-rank seed) and target indices (sharded sampler)
    return torch.cat([torch.randn(4), objs["sampler"].next(2).float()])


def distill_draw(objs: dict) -> torch.Tensor:  # generated pairs (per-rank stream) and real pairs (sharded)
    return torch.cat([objs["stream"].sample_ws(2)[0].flatten(), objs["sampler"].next(2).float()])


ADAPT = ("G", "D", "patch_head")
common = dict(snap_every=2, grid_every=2, log_every=1, progress=False, device="cpu")
# batch 6 = 3 latents per process (CDC compares a process's latents); step 0 uses the anchor region
a = dict(teacher=str(root / "teacher"), target=str(root / "pairs" / "B"), batch=6, measure_n=4, freeze_d=1,
         r1_interval=2, **common)
adapt(AdaptConfig(out=str(runs / "a-a"), steps=3, **a), on_finish=dump("a-a", ADAPT, adapt_draw))
adapt(AdaptConfig(out=str(runs / "a-b"), steps=2, **a))
adapt(AdaptConfig(out=str(runs / "a-b"), steps=3, resume="latest", **a), on_finish=dump("a-b", ADAPT, adapt_draw))
d = dict(adapted=str(root / "adapt" / "model"), anchors=str(root / "anchors.safetensors"), batch=2, gen_batch=4,
         channels=4, max_channels=8, depth=3, d_channels=4, d_layers=2, **common)
distill(GPDDistillConfig(out=str(runs / "d-a"), steps=3, **d), on_finish=dump("d-a", ("S", "D"), distill_draw))
distill(GPDDistillConfig(out=str(runs / "d-b"), steps=2, **d))
distill(GPDDistillConfig(out=str(runs / "d-b"), steps=3, resume="latest", **d),
        on_finish=dump("d-b", ("S", "D"), distill_draw))
distill(GPDDistillConfig(out=str(runs / "d-n"), steps=2, norm="batch", kd="direct", adv_generated=True, **d),
        on_finish=dump("d-n", ("S", "D"), distill_draw))
(dumps / f"writes-rank{rank}.json").write_text(json.dumps(writes))
