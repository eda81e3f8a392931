"""Run by test_ddp_two_processes_stay_in_sync under torch.distributed.run (2 processes, gloo)."""
import sys
from pathlib import Path

import torch

from gandistill.teacher.presets import preset_model
from gandistill.teacher.train import train_teacher
from gandistill.teacher.train_config import TeacherTrainConfig

out = Path(sys.argv[1])
# optional: run name, steps, --resume (test_ddp_resume_equals_uninterrupted)
name, steps, resume = (sys.argv[2:5] + ["run", "3", ""][len(sys.argv[2:5]):])
torch.set_num_threads(1)
cfg = TeacherTrainConfig(out=str(out / name), data="toyfaces", data_n=16, steps=int(steps), batch=4, batch_gpu=1,
                         snap_every=100, grid_every=0, augment="ada", ada_interval=1, r1_interval=2, pl_weight=2.0,
                         pl_interval=2, progress=False, resume=resume or None,
                         model=preset_model("tiny"))


def dump(nets):
    # Every rank saves its own live replica so the test can compare them.
    tensors = {f"{name}.{k}": v.detach().clone() for name in ("G", "D", "G_ema")
               for k, v in nets[name].state_dict().items()}
    tensors["aug.p"] = nets["aug"].p.detach().clone()
    torch.save(tensors, out / f"rank{nets['rank']}.pt")


train_teacher(cfg, on_finish=dump)
