"""GPD under torchrun (2 CPU processes, gloo): `gpd adapt` and `gpd distill` keep the replicas
bit-identical, only rank 0 writes, ranks draw different latents / pairs, and a resumed 2-process run
equals an uninterrupted one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from ddp_support import assert_same, load_dump, run_workers
from gpd_support import make_teacher, toy_pairs

from gandistill.gpd import AdaptConfig, AnchorsConfig, adapt, compute_anchors
from gandistill.io.state import load_state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One torchrun launch runs every case (gpd_ddp_worker.py); the tests read what it left."""
    root = tmp_path_factory.mktemp("gpd_ddp")
    make_teacher(root / "teacher")
    pairs = toy_pairs(root / "pairs", n=3)
    adapted = adapt(AdaptConfig(out=str(root / "adapt"), teacher=str(root / "teacher"), target=str(pairs / "B"),
                                steps=1, batch=2, progress=False, device="cpu", grid_every=0))
    compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(pairs), steps=3, device="cpu",
                                  out=str(root / "anchors.safetensors")), progress=False)
    (root / "dumps").mkdir()
    run_workers(Path(__file__).with_name("gpd_ddp_worker.py"), root)
    return root


@pytest.mark.parametrize("name", ["a-a", "a-b", "d-a", "d-b", "d-n"])
def test_replicas_stay_bit_identical_and_ranks_draw_their_own_data(ddp_run, name):
    r0, r1 = load_dump(ddp_run, name, 0), load_dump(ddp_run, name, 1)
    draws = tuple(k for k in r0 if k.startswith("next/"))
    assert len(draws) == (3 if name.startswith("a") else 2)
    assert_same(r0, r1, f"{name}: rank 0 vs rank 1", skip=draws)  # BatchNorm statistics too (d-n)
    for key in draws:  # per-rank seeds, per-rank pair stream, sharded samplers
        assert not torch.equal(r0[key], r1[key]), f"{name}: both ranks would draw the same {key}"


@pytest.mark.parametrize("stage", ["a", "d"])
def test_resumed_two_process_run_equals_an_uninterrupted_one(ddp_run, stage):
    for rank in (0, 1):
        assert_same(load_dump(ddp_run, f"{stage}-a", rank), load_dump(ddp_run, f"{stage}-b", rank),
                      f"rank {rank}: uninterrupted vs resumed")
    for name in (f"{stage}-a", f"{stage}-b"):
        state = load_state(ddp_run / "runs" / name / "checkpoints" / "state-00000003.pt")
        assert len(state["rng"]) == 2 and not torch.equal(state["rng"][0], state["rng"][1])  # per-rank seeds


def test_only_rank_zero_writes(ddp_run):
    rank0 = json.loads((ddp_run / "dumps" / "writes-rank0.json").read_text())
    assert any("state-00000003.pt" in w for w in rank0) and any("model" in w for w in rank0)  # the audit sees writes
    assert json.loads((ddp_run / "dumps" / "writes-rank1.json").read_text()) == []
    for name in ("a-a", "a-b", "d-a", "d-b", "d-n"):  # ... and rank 0 wrote the whole run
        run = ddp_run / "runs" / name
        assert (run / "config.json").is_file() and (run / "model" / "config.json").is_file(), name
        assert any((run / "samples").glob("*.png")), name
        rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines() if '"loss/' in x]
        assert [r["step"] for r in rows] == list(range(1, len(rows) + 1)), name  # one log, not one per process
