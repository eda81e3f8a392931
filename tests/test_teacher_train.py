"""Training engine: exact resume, crash-safe checkpoints, Ctrl-C, NaN detection, CLI, sampling."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gandistill.teacher.train as T
from gandistill.cli.main import main as cli
from gandistill.errors import CheckpointError, GandistillError
from gandistill.io.state import list_states, load_state
from gandistill.teacher import StyleGAN2Config, Teacher
from gandistill.teacher.presets import preset_model
from gandistill.teacher.train_config import TeacherTrainConfig

TINY = preset_model("tiny")


def make_cfg(out, steps, **kw) -> TeacherTrainConfig:
    base = dict(out=str(out), data="toyfaces", data_n=32, steps=steps, batch=4, snap_every=2, grid_every=0,
                augment="ada", ada_interval=1, r1_interval=2, pl_weight=2.0, pl_interval=2, progress=False,
                model=TINY)
    base.update(kw)
    return TeacherTrainConfig(**base)


def assert_same_state(a: dict, b: dict) -> None:
    for key in ("G", "D", "G_ema", "aug"):
        for name in a[key]:
            if isinstance(a[key][name], torch.Tensor):
                assert torch.equal(a[key][name], b[key][name]), f"{key}.{name} differs"
    assert a["sampler"] == b["sampler"]
    assert torch.equal(a["rng"][0], b["rng"][0])


def test_style_mixing_maps_both_latents_in_one_batch_with_the_same_draws():
    torch.manual_seed(0)
    G = T.Generator(TINY).double()
    z = torch.randn(4, G.z_dim, dtype=torch.float64)
    for seed in range(6):  # some seeds mix, some do not (prob 0.5)
        torch.manual_seed(seed)
        got, after = T._mixed_ws(G, z, 0.5), torch.rand(())
        torch.manual_seed(seed)  # the two-call formulation: map z, draw the cutoff and the coin, map a second z
        ws = G.mapping(z)
        cutoff = int(torch.randint(1, ws.shape[1], ()))
        if float(torch.rand(())) < 0.5:
            ws = torch.cat([ws[:, :cutoff], G.mapping(torch.randn_like(z))[:, cutoff:]], dim=1)
        torch.testing.assert_close(got, ws, rtol=1e-12, atol=1e-12)
        assert torch.equal(after, torch.rand(()))  # the same random numbers were consumed
    assert torch.equal(T._mixed_ws(G, z, 0.0), G.mapping(z))


def test_resume_is_bit_identical(tmp_path):
    T.train_teacher(make_cfg(tmp_path / "full", 6))
    T.train_teacher(make_cfg(tmp_path / "split", 3, snap_every=100))
    T.train_teacher(make_cfg(tmp_path / "split", 6, resume="latest"))
    a = load_state(tmp_path / "full" / "checkpoints" / "state-00000006.pt")
    b = load_state(tmp_path / "split" / "checkpoints" / "state-00000006.pt")
    assert_same_state(a, b)
    # the stats log of the resumed run continues without duplicated steps
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "stats.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))


def test_crash_between_temp_write_and_rename_keeps_previous_state(tmp_path, monkeypatch):
    import gandistill.io.atomic as atomic

    real_replace = os.replace
    calls = {"n": 0}

    def crashing_replace(src, dst):
        if str(dst).endswith("state-00000004.pt"):
            raise KeyboardInterrupt("simulated kill between temp write and rename")
        calls["n"] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crashing_replace)
    with pytest.raises(KeyboardInterrupt):
        T.train_teacher(make_cfg(tmp_path / "run", 6))
    ckpt = tmp_path / "run" / "checkpoints"
    assert [s for s, _ in list_states(ckpt)] == [2]
    assert not [p for p in ckpt.iterdir() if p.name.endswith(".tmp")], "temp file left behind"
    load_state(ckpt / "state-00000002.pt")  # still loadable
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    T.train_teacher(make_cfg(tmp_path / "run", 6, resume="latest"))
    assert list_states(ckpt)[-1][0] == 6


def test_ctrl_c_saves_state_and_resume_continues(tmp_path, monkeypatch):
    import signal

    calls = {"n": 0}
    real_loss = T.g_nonsaturating

    def loss_then_sigint(logits):
        calls["n"] += 1
        if calls["n"] == 3:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C in the middle of step 3
        return real_loss(logits)

    monkeypatch.setattr(T, "g_nonsaturating", loss_then_sigint)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs as a background job
    T.train_teacher(make_cfg(tmp_path / "run", 10, snap_every=100))
    assert [s for s, _ in list_states(tmp_path / "run" / "checkpoints")] == [3]
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    monkeypatch.setattr(T, "g_nonsaturating", real_loss)
    T.train_teacher(make_cfg(tmp_path / "run", 5, snap_every=100, resume="latest"))
    assert list_states(tmp_path / "run" / "checkpoints")[-1][0] == 5


def test_nan_loss_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "g_nonsaturating", lambda logits: logits.mean() * float("nan"))
    with pytest.raises(GandistillError, match="generator loss became nan at step 0"):
        T.train_teacher(make_cfg(tmp_path / "run", 3))


def test_resume_with_other_architecture_is_refused(tmp_path):
    T.train_teacher(make_cfg(tmp_path / "run", 2))
    other = StyleGAN2Config(**{**TINY.__dict__, "channel_max": 8})
    with pytest.raises(CheckpointError, match="different architecture"):
        T.train_teacher(make_cfg(tmp_path / "run", 4, resume="latest", model=other))


def test_init_from_copies_weights_but_not_progress(tmp_path):
    T.train_teacher(make_cfg(tmp_path / "a", 2))
    T.train_teacher(make_cfg(tmp_path / "b", 1, init_from=str(tmp_path / "a" / "model"), r1_interval=0,
                             pl_weight=0.0))
    src = Teacher.from_pretrained(tmp_path / "a" / "model")
    state = load_state(tmp_path / "b" / "checkpoints" / "state-00000001.pt")
    assert state["step"] == 1
    diff = max((state["D"][k] - v).abs().max().item() for k, v in src.D.state_dict().items())
    assert 0 < diff < 0.1  # one small step away from the source weights


def test_cli_train_sample_and_dry_run(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["teacher", "train", "--out", str(out), "--data", "toyfaces", "--data-n", "16", "--resolution", "16",
              "--z-dim", "16", "--w-dim", "16", "--mapping-layers", "2", "--channel-base", "256",
              "--channel-max", "16", "--batch", "4", "--no-progress"]
    assert cli(common + ["--steps", "2", "--dry-run"]) == 0
    assert not (out / "checkpoints").exists()
    assert '"steps": 2' in capsys.readouterr().out
    assert cli(common + ["--steps", "2", "--grid-every", "2"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["resolution"] == 16 and cfg["steps"] == 2 and cfg["r1_interval"] == 16
    assert (out / "samples" / "fakes-00000002.png").is_file() and (out / "samples" / "reals.png").is_file()
    # resume keeps recorded options (architecture) while --steps extends the run
    assert cli(["teacher", "train", "--out", str(out), "--resume", "latest", "--steps", "3", "--no-progress"]) == 0
    assert list_states(out / "checkpoints")[-1][0] == 3
    assert cli(["teacher", "sample", "--model", str(out / "model"), "--out", str(tmp_path / "s"), "--seeds", "0-3",
                "--mix-rows", "0-1", "--mix-cols", "5-7", "--crossover", "3"]) == 0
    assert (tmp_path / "s" / "seed0003.png").is_file() and (tmp_path / "s-grids" / "stylemix-k3.png").is_file()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [f"seed{i:04d}.png" for i in range(4)]  # no grids
    assert cli(["teacher", "train", "--out", str(tmp_path / "nothing"), "--resume", "latest", "--data-n", "8",
                "--resolution", "16", "--channel-base", "256", "--channel-max", "16"]) == 2
    assert "no state-*.pt" in capsys.readouterr().err


def test_style_mix_grid_layout():
    from gandistill.teacher import Generator
    from gandistill.teacher.sample import sample_seeds, style_mix_grid

    torch.manual_seed(0)
    G = Generator(TINY).eval()
    grid = style_mix_grid(G, [0, 1], [5, 6, 7], crossover=G.num_ws)
    assert grid.shape[0] == (2 + 1) * (3 + 1)
    rows = sample_seeds(G, [0, 1])
    cols = sample_seeds(G, [5, 6, 7])
    assert torch.allclose(grid[1:4], cols, atol=1e-5)
    assert torch.allclose(grid[5], rows[0], atol=1e-5)  # crossover = num_ws: every cell is its row image
    assert torch.allclose(grid[6], rows[0], atol=1e-5)
    grid0 = style_mix_grid(G, [0, 1], [5, 6, 7], crossover=0)
    assert torch.allclose(grid0[4], rows[0], atol=1e-5)  # left column: the row seed itself
    assert torch.allclose(grid0[5], cols[0], atol=1e-5)  # crossover 0: every cell is its column image
    assert torch.allclose(grid0[6], cols[1], atol=1e-5)


@pytest.mark.slow
def test_ddp_two_processes_stay_in_sync(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0",
                           "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", str(worker), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in r0:
        assert torch.equal(r0[key], r1[key]), f"replicas diverged at {key}"
    state = load_state(tmp_path / "run" / "checkpoints" / "state-00000003.pt")
    assert len(state["rng"]) == 2 and not torch.equal(state["rng"][0], state["rng"][1])  # per-rank seeds


@pytest.mark.slow
def test_ddp_resume_equals_uninterrupted(tmp_path):
    """2 processes: 2 steps + resume + 2 steps gives every rank's state of 4 uninterrupted steps, bit for bit."""
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    for args in (["full", "4"], ["split", "2"], ["split", "4", "latest"]):
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                               "--master_port=0", "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", str(worker),
                               str(tmp_path), *args], capture_output=True, text=True, env=env, timeout=280)
        assert proc.returncode == 0, proc.stderr[-3000:]
    a = load_state(tmp_path / "full" / "checkpoints" / "state-00000004.pt")
    b = load_state(tmp_path / "split" / "checkpoints" / "state-00000004.pt")
    assert_same_state(a, b)
    assert len(b["rng"]) == 2 and torch.equal(a["rng"][1], b["rng"][1])  # rank 1's RNG too
