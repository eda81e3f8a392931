"""``teacher train --compile``: the lazy R1 and path-length passes need a double backward, which compiled
(aot_autograd) graphs do not support, so they run on the eager modules. 18 steps cover lazy R1 at steps
0 and 16 and path length every 4 around the compiled main passes. Both tests take minutes on a small
CPU (slow marker); the full suite runs them."""
from __future__ import annotations

import functools
import json

import pytest
import torch

import gandistill.teacher.train as T
from gandistill.teacher.presets import preset_model
from gandistill.teacher.train_config import TeacherTrainConfig


def _train(out, **kw):
    cfg = TeacherTrainConfig(out=str(out), data="toyfaces", data_n=32, steps=18, batch=4, snap_every=100,
                             grid_every=0, r1_interval=16, pl_weight=2.0, pl_interval=4, progress=False, log_every=1,
                             compile=True, model=preset_model("tiny"), **kw)
    T.train_teacher(cfg)
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 19))
    r1_steps = [r["step"] for r in rows if "loss/r1" in r]
    assert r1_steps == [1, 17]  # lazy R1 ran at steps 0 and 16 (logged after the step)
    assert all(torch.isfinite(torch.tensor(r["loss/r1"])) for r in rows if "loss/r1" in r)
    assert sum("loss/pl" in r for r in rows) == 5


@pytest.mark.slow
def test_compiled_training_survives_lazy_regularisation(tmp_path, monkeypatch):
    # aot_eager goes through aot_autograd (where double backward is refused) without inductor's slow C++ build
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", functools.partial(compile_, backend="aot_eager"))
    torch._dynamo.reset()
    _train(tmp_path / "run")


@pytest.mark.slow
def test_compiled_training_with_inductor(tmp_path):
    """The real default backend (C++ codegen on CPU): minutes of compilation on a small CPU."""
    torch._dynamo.reset()
    _train(tmp_path / "run", augment="none")
