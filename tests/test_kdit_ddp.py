"""KDIT under torchrun (2 CPU processes, gloo): `kdit distill` and `kdit finetune` keep the replicas
bit-identical, only rank 0 writes, ranks draw different triplets / pairs, and a resumed 2-process run
equals an uninterrupted one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from ddp_support import assert_same, load_dump, run_workers
from kdit_support import kdit_workdir

from gandistill.io.state import load_state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One torchrun launch runs every case (kdit_ddp_worker.py); the tests read what it left."""
    root = tmp_path_factory.mktemp("kdit_ddp")
    kdit_workdir(root, n_pairs=6)
    (root / "dumps").mkdir()
    run_workers(Path(__file__).with_name("kdit_ddp_worker.py"), root)
    return root


@pytest.mark.parametrize("name", ["d-a", "d-b", "x-a", "f-a", "f-b"])
def test_replicas_stay_bit_identical(ddp_run, name):
    assert_same(load_dump(ddp_run, name, 0), load_dump(ddp_run, name, 1), f"{name}: rank 0 vs rank 1")


@pytest.mark.parametrize("stage", ["d", "f"])
def test_resumed_two_process_run_equals_uninterrupted(ddp_run, stage):
    straight, resumed = load_dump(ddp_run, f"{stage}-a", 0), load_dump(ddp_run, f"{stage}-b", 0)
    assert_same(straight, resumed, f"{stage}: uninterrupted vs resumed")


def test_only_rank_0_writes(ddp_run):
    rank0 = json.loads((ddp_run / "dumps" / "writes-rank0.json").read_text())
    assert any("state-00000003.pt" in w for w in rank0) and any("model" in w for w in rank0)  # the audit sees writes
    assert json.loads((ddp_run / "dumps" / "writes-rank1.json").read_text()) == []


@pytest.mark.parametrize("run", ["d-a", "f-a"])
def test_one_run_directory_with_per_process_seeds(ddp_run, run):
    out = ddp_run / "runs" / run
    assert (out / "model" / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert (out / "samples").is_dir()
    rows = [json.loads(x) for x in (out / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]  # one log, not one per process
    assert {"loss/G_total", "loss/D", "loss/r1"} <= set(rows[0])
    state = load_state(out / "checkpoints" / "state-00000003.pt")
    assert len(state["rng"]) == 2 and not torch.equal(state["rng"][0], state["rng"][1])  # per-process seeds


def test_two_processes_train_like_one_with_the_whole_batch(ddp_run, tmp_path):
    """Each process renders its own share of one triplet stream and the gradients are averaged, so without the
    discriminator (whose minibatch statistics see the per-process batch) the 2-process run matches one process
    on the whole batch, to float rounding."""
    from gandistill.kdit.distill import DistillConfig, distill
    from gandistill.kdit.i2i import I2IStudent

    one = distill(DistillConfig(out=str(tmp_path / "one"), teacher=str(ddp_run / "teacher"), steps=2, w_adv=0,
                                batch=4, snap_every=2, grid_every=0, progress=False, device="cpu"))
    two = load_dump(ddp_run, "d-noadv", 0)
    for key, value in I2IStudent.from_pretrained(one).state_dict().items():
        torch.testing.assert_close(two[f"student.{key}"], value, atol=1e-4, rtol=1e-4, msg=key)
