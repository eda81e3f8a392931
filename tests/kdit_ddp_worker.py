"""Run by tests/test_kdit_ddp.py under torch.distributed.run (2 processes, gloo): kdit distill and
finetune, uninterrupted and stopped-then-resumed, each rank dumping its live replica and the list of
files it wrote, renamed, deleted or created below the run folders (rank 1 should touch none)."""
import json
import os
import sys
from pathlib import Path

import torch
from ddp_support import record_writes

from gandistill.cli.main import main
from gandistill.kdit.distill import DistillConfig, distill
from gandistill.kdit.finetune import FinetuneConfig, finetune

root = Path(sys.argv[1])
runs, dumps = root / "runs", root / "dumps"
rank = int(os.environ["RANK"])
torch.set_num_threads(1)
writes = record_writes(runs)


def dump(name: str):
    def on_finish(nets: dict) -> None:
        state = {f"{net}.{k}": v.detach().clone() for net in ("student", "D") for k, v in nets[net].state_dict().items()}
        torch.save(state, dumps / f"{name}-rank{rank}.pt")
    return on_finish


common = dict(batch=4, snap_every=2, grid_every=2, log_every=1, r1_interval=2, progress=False, device="cpu")
d = dict(teacher=str(root / "teacher"), **common)
distill(DistillConfig(out=str(runs / "d-a"), steps=3, **d), on_finish=dump("d-a"))
# the interrupted run goes through the command line, as a torchrun user starts it
cli = ["--batch", "4", "--snap-every", "2", "--grid-every", "2", "--log-every", "1", "--r1-interval", "2",
       "--no-progress", "--device", "cpu"]
assert main(["kdit", "distill", "--teacher", str(root / "teacher"), "--out", str(runs / "d-b"), "--steps", "2",
             *cli]) == 0
distill(DistillConfig(out=str(runs / "d-b"), steps=3, resume="latest", **d), on_finish=dump("d-b"))
distill(DistillConfig(out=str(runs / "x-a"), steps=2, student="x2i", **d), on_finish=dump("x-a"))
# no D (its minibatch statistics depend on the per-process batch): 2 × 2 triplets ≈ one process with 4
distill(DistillConfig(out=str(runs / "d-noadv"), steps=2, w_adv=0, **d), on_finish=dump("d-noadv"))
f = dict(modality="audio", student=str(root / "x2i"), data=str(root / "toy"), n_pairs=6, **common)
finetune(FinetuneConfig(out=str(runs / "f-a"), steps=3, **f), on_finish=dump("f-a"))
finetune(FinetuneConfig(out=str(runs / "f-b"), steps=2, **f))
finetune(FinetuneConfig(out=str(runs / "f-b"), steps=3, resume="latest", **f), on_finish=dump("f-b"))
(dumps / f"writes-rank{rank}.json").write_text(json.dumps(writes))
