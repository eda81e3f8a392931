"""The one training loop of every stage (teacher, KDIT, GPD), in the shape of NVlabs stylegan2-ada / edm.

The loop knows nothing of losses. A stage describes its step as a phase table (:mod:`.phases`) and hands
the loop the objects whose state must survive a restart; the loop owns everything else:

- resume (``--resume latest|FILE|DIR``) with the architecture check (``arch_keys`` must match the saved
  config), ``config.json``, atomic training states (``checkpoints/state-<step>.pt``, :mod:`gandistill.io.state`),
  the model directory (``save_model``), grids (``grid``), scalar log (``stats.jsonl``) and progress bar,
  written by rank 0 only, at ``--log-every`` / ``--grid-every`` / ``--snap-every``;
- Ctrl-C: the first one stops after the current step and saves (on every process), a second one aborts;
- processes (``torchrun --nproc_per_node=N``): initial weights broadcast from rank 0, per-rank seeds,
  gradients averaged over ranks (in :func:`.phases.run_phase`), one RNG state per rank in the state;
- ``--batch`` vs ``--batch-gpu``: each phase accumulates gradients over ``rounds`` micro-batches;
- the finite check: a phase's loss (before it is used), every reported scalar (regularisers too) and the
  saved state (weights, EMA, optimiser moments) — a divergence names the last good state;
- EMA (:class:`.ema.EMA`) after the phases; on CUDA: bf16 autocast per phase, TF32, peak memory logged.

Example (a stage with a G and a D)::

    from gandistill.train import EMA, Phase, d_phases, plan_batch, setup_processes, train_loop

    device, info = setup_processes(cfg.device)            # torchrun-aware; TF32 on CUDA
    prepare_run_dir(cfg.out, cfg.resume, cfg.overwrite, clear=info.is_main)  # before loading anything
    batch_gpu, rounds = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    torch.manual_seed(cfg.seed)                           # same initial weights on every rank
    G, D = make_G().to(device), make_D().to(device)
    opt_g, opt_d = adam(G.parameters(), ...), adam(D.parameters(), ...)
    sampler = InfiniteSampler(len(data), info.rank, info.world_size, seed=cfg.seed)

    def g_main(r: Round):                                 # one micro-batch of r.size samples
        loss = g_nonsaturating(D(G(torch.randn(r.size, z_dim, device=device))))
        return loss, {"loss/G": float(loss.detach())}

    phases = [Phase("G", g_main, opt_g, label="generator loss"),
              *d_phases(D, opt_d, reals=lambda r: data[sampler.next(r.size)].to(device),
                        fakes=lambda r: G(torch.randn(r.size, z_dim, device=device)),
                        r1_gamma=cfg.r1_gamma, r1_interval=cfg.r1_interval)]
    train_loop(cfg, phases, {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d, "sampler": sampler},
               save_model=lambda step: save_pretrained(G, Path(cfg.out) / "model"), desc="my stage",
               resume_hint="gandistill my-stage", device=device, info=info, seed=cfg.seed,
               arch_keys=("resolution",))

``cfg`` needs ``out, steps, batch, resume, overwrite, keep, log_every, grid_every, snap_every, progress``
(:class:`gandistill.train.run_options.RunOptions` plus the stage's own) and may have ``batch_gpu``.
A step's scalars are named ``loss/<term>``, ``scores/...``; ``bar_keys`` picks those shown on the bar.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..io.atomic import dump_json
from ..options import from_dict, with_absent
from ..errors import CheckpointError, GandistillError
from ..io.state import NonFiniteStateError, describe_entries, load_state, resolve_resume, save_state
from ..utils import dist
from ..utils.dist import DistInfo
from ..utils.logging import ScalarLog, progress_bar
from ..utils.training import (StopFlag, config_record, divergence_error, learning_rates, nonfinite_stats,
                              prepare_run_dir, restore_learning_rates)
from .ddp import plan_batch
from .ema import EMA
from .phases import NonFiniteLoss, Phase, run_phase
from .precision import peak_memory_gib

DIVERGED_HINT = "Lower --lr / --lr-d or the adversarial weight"


def check_finite(stats: dict[str, float], step: int, out: Path, hint: str = DIVERGED_HINT) -> None:
    """Every scalar a step reports (losses, regularisers, scores) must be finite."""
    bad = nonfinite_stats(stats)
    if bad:
        raise divergence_error(f"{bad}", step, out / "checkpoints", hint)


def _saved_config(cfg: Any, state: dict[str, Any], path: Path) -> dict[str, Any]:
    """The resumed run's options, completed with this version's defaults (older runs lack newer fields)."""
    try:
        return asdict(from_dict(type(cfg), with_absent(type(cfg), json.loads(state["config"])), strict=False))
    except (GandistillError, TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: its recorded options cannot be read ({exc}); resume from a state "
                              "written by this stage") from None


def _resume(cfg: Any, path: Path, state: dict[str, Any], objs: dict[str, Any], arch_keys: Sequence[str],
            info: DistInfo, device: torch.device) -> int:
    saved, now = _saved_config(cfg, state, path), asdict(cfg)
    diff = {k: (saved.get(k), now.get(k)) for k in arch_keys if k in now and saved.get(k) != now.get(k)}
    if diff:
        raise CheckpointError(f"{path} was trained with a different architecture ({', '.join(sorted(diff))}: "
                              f"then vs now {diff}); pass the same options or resume from its own config.json")
    missing = sorted(set(objs) - set(state))
    if missing:  # e.g. a paired --target now, an unpaired one then: the options build other training objects
        raise CheckpointError(f"{path} holds no {', '.join(missing)}: it was written by a run with other options or "
                              "inputs; resume with the options and inputs that run was started with")
    wanted_lr = learning_rates(objs)  # this run's --lr options; the loaded optimisers carry the old ones
    for name, obj in objs.items():
        if isinstance(obj, torch.Tensor):
            obj.copy_(state[name])
        else:
            obj.load_state_dict(state[name])
    for line in restore_learning_rates(objs, wanted_lr):
        if info.is_main:
            print(f"--resume: {line}")
    rng = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]  # older states: one process
    if len(rng) != info.world_size:
        raise CheckpointError(f"{path} was written by {len(rng)} processes; resume with the same number "
                              f"(now {info.world_size}) for an exact continuation")
    torch.set_rng_state(rng[info.rank])
    cuda_rng = state.get("cuda_rng")
    if device.type == "cuda" and cuda_rng is not None:
        cuda_rng = cuda_rng if isinstance(cuda_rng, list) else [cuda_rng]
        torch.cuda.set_rng_state(cuda_rng[info.rank], device)
    if info.is_main:
        print(f"resumed from {path} at step {int(state['step'])}")
    return int(state["step"])


def train_loop(cfg: Any, phases: Sequence[Phase], objs: dict[str, Any], *,
               save_model: Callable[[int], None], desc: str, resume_hint: str,
               device: torch.device | str = "cpu", info: DistInfo | None = None,
               grid: Callable[[int], dict[str, float] | None] | None = None, ema: EMA | None = None,
               after_step: Callable[[int, dict[str, float]], dict[str, float] | None] | None = None,
               arch_keys: Sequence[str] = (), bar_keys: Sequence[str] = ("loss/G", "loss/D"),
               model_dir: Path | None = None, diverged_hint: str = DIVERGED_HINT, seed: int | None = None,
               inputs: dict[str, str | None] | None = None) -> int:
    """Run ``cfg.steps`` steps of ``phases`` (resuming if ``cfg.resume``); returns the last step.

    ``objs``: everything whose state influences the future (networks, EMA copies, optimisers, samplers,
    augmentation, tensors such as running means), saved by name in each training state.
    ``save_model(step)``: writes the inference model (rank 0, RNG untouched). ``grid(step)``: writes a sample
    grid (rank 0, under ``no_grad``) and may return scalars measured on it. ``after_step(step, scalars)``:
    bookkeeping after the phases and EMA on every rank (e.g. ADA's p), may return more scalars.
    ``seed``: a fresh start reseeds each process with a seed derived from it and its rank (``None``: the
    global RNG is left as the stage set it). ``model_dir``: if still missing at the end (``--steps 0``), a
    snapshot is written so a model always exists. ``inputs``: option → path that ``--overwrite`` must spare.
    """
    info = info or DistInfo()
    device = torch.device(device)
    out = Path(cfg.out)
    batch_gpu, rounds = plan_batch(cfg.batch, getattr(cfg, "batch_gpu", None), info.world_size)
    prepare_run_dir(out, cfg.resume, getattr(cfg, "overwrite", False), clear=info.is_main, inputs=inputs)
    dist.barrier(info)
    start = 0
    if cfg.resume:
        path = resolve_resume(cfg.resume, out / "checkpoints")
        start = _resume(cfg, path, load_state(path, map_location=device), objs, arch_keys, info, device)
    else:
        for obj in objs.values():  # replicas start identical (a no-op in one process)
            if isinstance(obj, torch.nn.Module):
                dist.broadcast_module(obj, info)
        if seed is not None:
            torch.manual_seed(seed * 7919 + info.rank)  # per-rank noise, latents and augmentation
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        dump_json(config_record(cfg), out / "config.json")

    def snapshot(step: int) -> None:
        rng = dist.all_gather_objects(torch.get_rng_state(), info)
        cuda_rng = dist.all_gather_objects(torch.cuda.get_rng_state(device), info) if device.type == "cuda" else None
        if not info.is_main:
            return
        state = {name: obj.detach().clone() if isinstance(obj, torch.Tensor) else obj.state_dict()
                 for name, obj in objs.items()}
        state.update(step=step, rng=rng, cuda_rng=cuda_rng, config=json.dumps(config_record(cfg)))
        try:
            save_state(out / "checkpoints", step, state, keep=cfg.keep)
        except NonFiniteStateError as exc:  # the model directory keeps the last finite weights too
            raise divergence_error(f"non-finite values in {describe_entries(exc.entries)}", step,
                                   out / "checkpoints", diverged_hint) from None
        with torch.random.fork_rng(devices=[]):  # writing the model must not consume training randomness
            save_model(step)

    log = ScalarLog(out, enabled=info.is_main, start_step=start)
    bar = progress_bar(total=cfg.steps, initial=start, desc=desc, enabled=info.is_main and cfg.progress)
    step, t_last = start, time.perf_counter()
    with StopFlag() as stop:
        while step < cfg.steps:
            stats: dict[str, float] = {}
            try:
                for phase in phases:
                    if phase.due(step):
                        stats.update(run_phase(phase, step, rounds=rounds, size=batch_gpu, info=info,
                                               device=device, others=phases, bf16=getattr(cfg, "bf16", True)))
            except NonFiniteLoss as exc:
                raise divergence_error(str(exc), step, out / "checkpoints", diverged_hint) from None
            if ema is not None:
                ema.update(step)
            if after_step is not None:
                stats.update(after_step(step + 1, stats) or {})
            check_finite(stats, step, out, diverged_hint)
            step += 1
            now = time.perf_counter()
            stats["time/sec_per_step"], t_last = now - t_last, now
            peak = peak_memory_gib(device)
            if peak is not None:
                stats["resources/peak_gpu_mem_gib"] = peak
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.write(step, step * cfg.batch, stats)
            bar.update(1)
            bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in stats.items() if k in bar_keys})
            if info.is_main and grid is not None and cfg.grid_every and \
                    (step % cfg.grid_every == 0 or step == cfg.steps):
                with torch.random.fork_rng(devices=[]), torch.no_grad():
                    measures = grid(step)
                if measures:  # a grid may return scalars measured on its samples
                    log.write(step, step * cfg.batch, measures)
            stop_now = bool(dist.all_reduce_sum(torch.tensor(float(stop.requested), device=device), info) > 0)
            if step % cfg.snap_every == 0 or step == cfg.steps or stop_now:
                snapshot(step)
            if stop_now:
                break
    bar.close()
    log.close()
    # rank 0 decides: another process may look before rank 0 has finished writing the last model
    if model_dir is not None and dist.all_reduce_sum(
            torch.tensor(float(info.is_main and not model_dir.is_dir()), device=device), info) > 0:
        snapshot(step)
    dist.barrier(info)
    if step < cfg.steps and info.is_main:
        print(f"stopped at step {step}; continue with: {resume_hint} --out {out} --resume latest")
    return step
