"""The one training loop (gandistill.train): phase intervals, batch vs batch_gpu accumulation, the finite check
on regularisation phases, rank-0-only writes, resume, EMA, the D phase and the GPU settings (off on CPU)."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from gandistill.options import field
from gandistill.data.sampler import InfiniteSampler
from gandistill.errors import GandistillError
from gandistill.io.state import list_states, load_state, nonfinite_entries
from gandistill.train import EMA, Phase, Round, RunOptions, d_phases, plan_batch, run_phase, train_loop
from gandistill.train import precision
from gandistill.train.ema import ema_beta
from gandistill.train.gan_losses import r1_penalty
from gandistill.utils.dist import DistInfo
from gandistill.utils.training import adam


@dataclass
class ToyConfig(RunOptions):
    out: str = field("runs/toy", help="run directory")
    steps: int = field(6, help="steps")
    batch: int = field(4, help="total batch")
    batch_gpu: int | None = field(None, help="micro-batch")
    reg_interval: int = field(2, help="regulariser interval")
    blow_up_at: int = field(-1, help="step at which the regulariser becomes inf (tests)")


def toy_stage(cfg: ToyConfig, info: DistInfo | None = None, log: list | None = None) -> dict:
    """A small real stage on the engine: a linear fit to fixed data with a lazy weight-norm regulariser."""
    torch.manual_seed(cfg.seed)
    net = torch.nn.Linear(3, 1)
    ema_net = torch.nn.Linear(3, 1).requires_grad_(False)
    ema_net.load_state_dict(net.state_dict())
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    data = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
    target = data @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    info = info or DistInfo()
    sampler = InfiniteSampler(len(data), info.rank, info.world_size, seed=cfg.seed)
    seen = log if log is not None else []

    def fit(r: Round):
        idx = sampler.next(r.size)
        noise = 0.01 * torch.randn(r.size)  # the global RNG: resume must restore it
        loss = (net(data[idx]).squeeze(1) + noise - target[idx]).square().mean()
        seen.append(("fit", r.step, r.index, r.count, r.size))
        return loss, {"loss/fit": float(loss.detach())}

    def reg(r: Round):
        seen.append(("reg", r.step, r.index))
        loss = net.weight.square().sum() * 0.01
        if r.step == cfg.blow_up_at:
            loss = loss * float("inf")
        return loss, {"loss/reg": float(loss.detach())}

    phases = [Phase("fit", fit, opt, label="fit loss"), Phase("reg", reg, opt, interval=cfg.reg_interval)]
    objs = {"net": net, "ema": ema_net, "opt": opt, "sampler": sampler}
    out = Path(cfg.out)

    def save_model(step: int) -> None:
        (out / "model").mkdir(parents=True, exist_ok=True)
        torch.save(ema_net.state_dict(), out / "model" / "net.pt")

    train_loop(cfg, phases, objs, save_model=save_model, desc="toy", resume_hint="toy", info=info,
               ema=EMA(ema_net, net, cfg.batch, half_life_kimg=0.01), seed=cfg.seed, bar_keys=("loss/fit",))
    return objs


def toy(tmp_path: Path, name: str = "run", **kw) -> ToyConfig:
    base = dict(out=str(tmp_path / name), snap_every=2, log_every=1, grid_every=0, progress=False)
    return ToyConfig(**{**base, **kw})


def test_phases_run_at_their_intervals(tmp_path):
    seen: list = []
    toy_stage(toy(tmp_path, steps=5, reg_interval=2), log=seen)
    assert [s for kind, s, *_ in seen if kind == "fit"] == [0, 1, 2, 3, 4]
    assert [s for kind, s, *_ in seen if kind == "reg"] == [0, 2, 4]
    rows = [json.loads(x) for x in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert [("loss/reg" in r) for r in rows] == [True, False, True, False, True]  # logged after step 0, 2, 4
    seen.clear()
    toy_stage(toy(tmp_path, "off", steps=2, reg_interval=0), log=seen)  # interval 0: never
    assert {kind for kind, *_ in seen} == {"fit"}


def test_accumulated_micro_batches_equal_one_full_batch(tmp_path):
    seen: list = []
    full = toy_stage(toy(tmp_path, "full", steps=3, batch=4))
    acc = toy_stage(toy(tmp_path, "acc", steps=3, batch=4, batch_gpu=1), log=seen)
    assert [x for x in seen if x[0] == "fit" and x[1] == 0] == [("fit", 0, i, 4, 1) for i in range(4)]
    for key in ("weight", "bias"):  # the noise draws differ in grouping, not in value
        torch.testing.assert_close(full["net"].state_dict()[key], acc["net"].state_dict()[key], rtol=0, atol=1e-6)
    assert full["sampler"].state_dict() == acc["sampler"].state_dict()
    with pytest.raises(GandistillError, match="--batch 4 must be a multiple of --batch-gpu 3"):
        plan_batch(4, 3, 1)
    assert plan_batch(8, None, 2) == (4, 1) and plan_batch(8, 2, 2) == (2, 2)


def test_resume_continues_exactly_with_accumulation(tmp_path):
    toy_stage(toy(tmp_path, "full", steps=6, batch_gpu=2))
    toy_stage(toy(tmp_path, "split", steps=3, batch_gpu=2, snap_every=100))
    toy_stage(toy(tmp_path, "split", steps=6, batch_gpu=2, resume="latest"))
    a = load_state(tmp_path / "full" / "checkpoints" / "state-00000006.pt")
    b = load_state(tmp_path / "split" / "checkpoints" / "state-00000006.pt")
    for key in ("net", "ema"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), f"{key}.{name}"
    assert a["sampler"] == b["sampler"] and torch.equal(a["rng"][0], b["rng"][0])


def test_nonfinite_regulariser_stops_with_the_last_good_state(tmp_path):
    with pytest.raises(GandistillError) as info:
        toy_stage(toy(tmp_path, steps=8, blow_up_at=4))
    msg = str(info.value)
    good = tmp_path / "run" / "checkpoints" / "state-00000004.pt"
    assert "loss/reg became inf at step 4" in msg and f"the last good state is {good}" in msg
    assert [s for s, _ in list_states(tmp_path / "run" / "checkpoints")] == [2, 4]
    assert not nonfinite_entries(load_state(good))


def test_only_rank_zero_writes(tmp_path):
    # rank 1 of a (simulated, collective-free) group: it trains, but writes no file at all
    toy_stage(toy(tmp_path, steps=3, grid_every=1), info=DistInfo(rank=1, world_size=1))
    assert not (tmp_path / "run").exists()


def test_only_rank_zero_shows_user_warnings(monkeypatch):
    """Under torchrun every process loads the same inputs: their warnings are printed once, by rank 0."""
    import warnings

    from gandistill.errors import GandistillWarning
    from gandistill.train import setup_processes
    from gandistill.utils import dist

    for rank, shown in ((0, ["resized", "plain", "kept"]), (1, ["kept"])):
        monkeypatch.setattr(dist, "init_distributed", lambda device, r=rank: DistInfo(rank=r, world_size=2))
        with warnings.catch_warnings(record=True) as caught:  # restores the filters afterwards
            warnings.simplefilter("always")
            _, info = setup_processes("cpu")
            warnings.warn("resized", GandistillWarning)
            warnings.warn("plain", UserWarning)
            warnings.warn("kept", RuntimeWarning)  # not a user warning: every process reports its own
        assert info.rank == rank and [str(w.message) for w in caught] == shown


def test_ema_follows_the_half_life_in_images():
    assert ema_beta(batch=10, nimg=10**6, half_life_kimg=1.0, rampup=None) == pytest.approx(0.5 ** 0.01)
    assert ema_beta(batch=10, nimg=100, half_life_kimg=1.0, rampup=0.1) == pytest.approx(0.5)  # capped early
    net, avg = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    torch.nn.init.zeros_(avg.weight), torch.nn.init.zeros_(avg.bias)
    torch.nn.init.ones_(net.weight), torch.nn.init.ones_(net.bias)
    EMA(avg, net, batch=10, half_life_kimg=0.01).update(step=10**6)  # one half-life per step
    torch.testing.assert_close(avg.weight, torch.full_like(avg.weight, 0.5))


def test_ema_update_equals_the_per_parameter_lerp_bit_for_bit():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7), torch.nn.Linear(7, 3))
    avg = copy.deepcopy(net).requires_grad_(False)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
        net[1].running_mean.add_(1.0)
    expected = [p.detach().lerp(q, ema_beta(4, 3 * 4, 0.01, 0.05)) for p, q in zip(net.parameters(), avg.parameters())]
    EMA(avg, net, batch=4, half_life_kimg=0.01, rampup=0.05).update(step=2)  # written into avg in place
    assert all(torch.equal(a, e) for a, e in zip(avg.parameters(), expected))
    assert torch.equal(avg[1].running_mean, net[1].running_mean)  # buffers are copied as they are


def test_adam_is_fused_and_a_resumed_state_keeps_its_own_update():
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 2)
    opt = adam(net.parameters(), lr=0.01, beta2=0.99, reg_interval=4)
    assert opt.param_groups[0]["fused"] is True  # one kernel per tensor on CPU
    ratio = 4 / 5
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * ratio)
    assert opt.param_groups[0]["betas"] == pytest.approx((0.0, 0.99 ** ratio))
    # a state saved by the per-parameter update (earlier versions) resumes with that update: bit for bit
    loop = torch.optim.Adam(net.parameters(), lr=0.01)
    net(torch.randn(3, 6)).sum().backward()
    loop.step()
    resumed = adam(net.parameters(), lr=0.01, beta2=0.99, reg_interval=4)
    resumed.load_state_dict(loop.state_dict())
    assert resumed.param_groups[0]["fused"] is None


def test_d_phases_patch_logits_and_lazy_r1():
    torch.manual_seed(0)
    D = torch.nn.Conv2d(3, 1, 3, padding=1)  # patch logits [N, 1, H, W]
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    calls = []
    main, reg = d_phases(D, opt, reals=lambda r: calls.append(r.index) or real, fakes=lambda r: fake,
                         r1_gamma=2.0, r1_interval=4)
    assert (main.interval, reg.interval, reg.autocast) == (1, 4, False)
    stats = run_phase(main, 0, others=[main, reg])
    x = real.clone().requires_grad_(True)
    expected = float(r1_penalty(x, D(x).flatten(1).mean(1)).detach())  # each image's mean patch logit
    stats.update(run_phase(reg, 0, others=[main, reg]))
    assert calls == [0]  # R1 reuses the reals of the D phase
    assert stats["loss/r1"] == pytest.approx(expected, rel=1e-5)
    assert set(stats) == {"loss/D", "scores/real", "scores/fake", "loss/r1"}


def test_d_phases_disc_pair_replaces_the_two_calls():
    torch.manual_seed(0)
    D = torch.nn.Conv2d(3, 1, 3, padding=1)
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    seen = []

    def pair(f, r):
        seen.append((f, r))
        both = D(torch.cat([f, r]))
        return both[:len(f)], both[len(f):]

    stats = {}
    for disc_pair in (None, pair):
        D.zero_grad()
        main, _ = d_phases(D, torch.optim.SGD(D.parameters(), lr=0.0), reals=lambda r: real, fakes=lambda r: fake,
                           r1_gamma=1.0, r1_interval=4, disc_pair=disc_pair)
        stats[disc_pair is None] = (run_phase(main, 0, others=[main]), D.weight.grad.clone())
    assert len(seen) == 1 and torch.equal(seen[0][0], fake) and torch.equal(seen[0][1], real)  # fakes first
    assert stats[False][0] == pytest.approx(stats[True][0], rel=1e-6)
    torch.testing.assert_close(stats[False][1], stats[True][1])


def test_gpu_settings_are_off_on_cpu(tmp_path):
    cpu = torch.device("cpu")
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    assert precision.enable_tf32(cpu) is False
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == tf32
    with precision.autocast(cpu):
        assert not torch.is_autocast_enabled("cpu") and not torch.is_autocast_enabled("cuda")
        assert (torch.randn(2, 2) @ torch.randn(2, 2)).dtype == torch.float32
    assert precision.train_channels_last(cpu) is False and precision.train_channels_last(cpu, True) is True
    assert precision.peak_memory_gib(cpu) is None
    toy_stage(toy(tmp_path, steps=1))
    row = json.loads((tmp_path / "run" / "stats.jsonl").read_text())
    assert "resources/peak_gpu_mem_gib" not in row and "loss/fit" in row


def test_teacher_phases_run_under_bf16_autocast(tmp_path, monkeypatch):
    """The CUDA bf16 path by proxy: CPU autocast to bf16 must not break any phase (dtype mix-ups such as a
    bf16 w into the fp32 w_avg), and the losses stay finite."""
    import gandistill.train.phases as phases
    from gandistill.teacher.presets import preset_model
    from gandistill.teacher.train import train_teacher
    from gandistill.teacher.train_config import TeacherTrainConfig

    used = []

    def cpu_bf16(device, enabled=True):
        used.append(enabled)
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)

    monkeypatch.setattr(phases, "autocast", cpu_bf16)
    cfg = TeacherTrainConfig(out=str(tmp_path / "run"), data="toyfaces", data_n=16, steps=2, batch=4, log_every=1,
                             snap_every=100, grid_every=0, progress=False, augment="ada", ada_interval=1,
                             r1_interval=2, pl_weight=2.0, pl_interval=2, model=preset_model("tiny"))
    train_teacher(cfg)
    rows = [json.loads(x) for x in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert {"loss/G", "loss/D", "loss/pl", "loss/r1"} <= set(rows[0]) and len(rows) == 2
    assert True in used and False in used  # main phases in bf16, R1 and path length in fp32
