"""Run by tests/test_gpd_ddp.py under torch.distributed.run (2 processes, gloo): `gpd adapt` and
`gpd distill`, uninterrupted and stopped-then-resumed (the interrupted runs through the command line, as
a torchrun user starts them), each rank dumping its live replica, what it would draw next and the files
it wrote below the run folders (rank 1 should write none)."""
import json
import os
import sys
from pathlib import Path

import torch
from ddp_support import record_writes

from gandistill.cli.main import main
from gandistill.gpd import AdaptConfig, GPDDistillConfig, adapt, distill

root = Path(sys.argv[1])
runs, dumps = root / "runs", root / "dumps"
rank = int(os.environ["RANK"])
torch.set_num_threads(1)
writes = record_writes(runs)


def dump(name: str, networks: tuple[str, ...], next_draw):
    def on_finish(objs: dict) -> None:
        state = {f"{net}.{k}": v.detach().clone() for net in networks
                 for k, v in (objs[net].state_dict() if hasattr(objs[net], "state_dict") else {"": objs[net]}).items()}
        with torch.random.fork_rng():  # what this rank would draw next: ranks must differ
            state.update({f"next/{k}": v for k, v in next_draw(objs).items()})
        torch.save(state, dumps / f"{name}-rank{rank}.pt")
    return on_finish


def adapt_draw(objs: dict) -> dict[str, torch.Tensor]:  # latents (per-rank seed), targets, pairs (sharded samplers)
    return {"latents": torch.randn(4), "targets": objs["sampler"].next(3), "pairs": objs["pair_sampler"].next(3)}


def distill_draw(objs: dict) -> dict[str, torch.Tensor]:  # generated pairs (per-rank stream), real pairs
    return {"latents": objs["stream"].sample_ws(2)[0], "pairs": objs["sampler"].next(3)}


ADAPT = ("G", "D", "patch_head", "pair_ws")  # pair_ws: the projected sources, the same on every process
common = dict(snap_every=2, grid_every=2, log_every=1, progress=False, device="cpu")
# batch 6 = 3 latents per process (CDC compares a process's latents); step 0 uses the anchor region;
# a paired target: every process projects the sources, each takes its share of the pairs
a = dict(teacher=str(root / "teacher"), target=str(root / "pairs"), batch=6, measure_n=4, freeze_d=1,
         r1_interval=2, pair_proj_steps=2, **common)
adapt(AdaptConfig(out=str(runs / "a-a"), steps=3, **a), on_finish=dump("a-a", ADAPT, adapt_draw))
cli = ["--snap-every", "2", "--grid-every", "2", "--log-every", "1", "--no-progress", "--device", "cpu", "--steps", "2"]
assert main(["gpd", "adapt", "--teacher", a["teacher"], "--target", a["target"], "--batch", "6", "--measure-n", "4",
             "--freeze-d", "1", "--r1-interval", "2", "--pair-proj-steps", "2", "--out", str(runs / "a-b"), *cli]) == 0
adapt(AdaptConfig(out=str(runs / "a-b"), steps=3, resume="latest", **a), on_finish=dump("a-b", ADAPT, adapt_draw))
d = dict(adapted=str(root / "adapt" / "model"), anchors=str(root / "anchors.safetensors"), batch=2, gen_batch=4,
         channels=4, max_channels=8, depth=3, d_channels=4, d_layers=2, **common)
distill(GPDDistillConfig(out=str(runs / "d-a"), steps=3, **d), on_finish=dump("d-a", ("S", "D"), distill_draw))
assert main(["gpd", "distill", "--adapted", d["adapted"], "--anchors", d["anchors"], "--batch", "2", "--gen-batch",
             "4", "--channels", "4", "--max-channels", "8", "--depth", "3", "--d-channels", "4", "--d-layers", "2",
             "--out", str(runs / "d-b"), *cli]) == 0
distill(GPDDistillConfig(out=str(runs / "d-b"), steps=3, resume="latest", **d),
        on_finish=dump("d-b", ("S", "D"), distill_draw))
distill(GPDDistillConfig(out=str(runs / "d-n"), steps=2, norm="batch", kd="direct", adv_generated=True, **d),
        on_finish=dump("d-n", ("S", "D"), distill_draw))
(dumps / f"writes-rank{rank}.json").write_text(json.dumps(writes))
