"""The resumable training loop shared by KDIT (``kdit distill|finetune``) and GPD (``gpd adapt|distill``):
resume with an architecture check, config.json, atomic training states, scalar log, progress bar,
sample grids, Ctrl-C handling, the finite-loss check, and the logistic discriminator step.

A step function does one optimisation step and returns its scalars; everything that influences the
future (networks, optimisers, samplers, augmentation, global RNG) is a named entry of ``state_objs`` and
is saved to ``checkpoints/state-<step>.pt``, so ``--resume latest`` continues exactly.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import CheckpointError
from ..io.atomic import dump_json
from ..io.state import NonFiniteStateError, describe_entries, load_state, resolve_resume, save_state
from ..options import field
from ..teacher.loss import d_logistic, r1_penalty
from .logging import ScalarLog, progress_bar
from .training import (StopFlag, config_record, divergence_error, learning_rates, nonfinite_stats, prepare_run_dir,
                       restore_learning_rates)



@dataclass
class ProgressOption:
    """``--progress/--no-progress``, shared by every stage that shows a bar (log files want it off)."""

    progress: bool = field(True, help="show a progress bar")


@dataclass
class RunOptions(ProgressOption):
    """Engine options every :func:`run_loop` stage shares (subclasses may change the defaults)."""

    seed: int = field(0, help="random seed")
    device: str = field("auto", help="torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N")
    log_every: int = field(10, help="write scalars every N steps")
    grid_every: int = field(100, help="write a sample grid every N steps (0 disables)")
    snap_every: int = field(200, help="write training state and model every N steps")
    keep: int = field(3, help="keep the last N training states")
    resume: str | None = field(None, help="continue a run: 'latest' (newest state in --out), a state-*.pt file "
                                          "or a run directory (default: start fresh)")
    overwrite: bool = field(False, help="start afresh in an --out that holds an earlier run, deleting its "
                                        "checkpoints, log, samples and model (default: refuse)")


DIVERGED_HINT = "Lower --lr / --lr-d or the adversarial weight"


def check_finite(stats: dict[str, float], step: int, out: Path, hint: str = DIVERGED_HINT) -> None:
    """Every scalar a step reports (losses, R1, scores) must be finite."""
    bad = nonfinite_stats(stats)
    if bad:
        raise divergence_error(f"{bad}", step, out / "checkpoints", hint)


def d_step(D: torch.nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
           c: torch.Tensor | None, r1_gamma: float, do_r1: bool, r1_interval: int,
           augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
    """Logistic loss with ``real`` as real and ``fake`` (detached) as fake, then lazy R1 on ``real``;
    ``augment`` (if given) is applied to every discriminator input, R1 included."""
    def disc(x: torch.Tensor) -> torch.Tensor:
        x = augment(x) if augment is not None else x
        return D(x) if c is None else D(x, c)

    # only the parameters being trained need gradients (GPD adapt keeps early D layers frozen)
    for group in opt_d.param_groups:
        for p in group["params"]:
            p.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    real_logits, fake_logits = disc(real), disc(fake.detach())
    loss = d_logistic(real_logits, fake_logits)
    loss.backward()
    opt_d.step()
    stats = {"loss/D": float(loss.detach()), "scores/real": float(real_logits.detach().mean()),
             "scores/fake": float(fake_logits.detach().mean())}
    if do_r1 and r1_gamma > 0:
        opt_d.zero_grad(set_to_none=True)
        r = real.detach().requires_grad_(True)
        penalty = r1_penalty(r, disc(r).flatten(1).mean(1))  # patch logits: the per-image mean, as for one logit
        (penalty * (r1_gamma / 2) * r1_interval).backward()
        opt_d.step()
        stats["loss/r1"] = float(penalty.detach())
    D.requires_grad_(False)
    return stats


def run_loop(cfg: Any, out: Path, state_objs: dict[str, Any], step_fn: Callable[[int], dict[str, float]],
             save_model: Callable[[int], None], save_grid: Callable[[int], dict[str, float] | None] | None,
             desc: str, *,
             arch_keys: tuple[str, ...], resume_hint: str, bar_keys: tuple[str, ...] = ("loss/G_total", "loss/D"),
             device: torch.device | str = "cpu", model_dir: Path | None = None,
             diverged_hint: str = DIVERGED_HINT) -> int:
    """Run ``cfg.steps`` steps of ``step_fn`` (resuming if ``cfg.resume``); returns the last step.

    ``arch_keys``: options that must match the resumed state's; ``resume_hint``: the command printed when
    stopped early; ``bar_keys``: scalars shown on the progress bar; ``model_dir``: if given and still
    missing after the loop (e.g. ``--steps 0``), a snapshot is written so a model always exists;
    ``diverged_hint``: which options to change when a value becomes NaN/inf.
    ``save_grid`` may return scalars (measures of its samples); they are logged at that step.
    """
    start = 0
    prepare_run_dir(out, cfg.resume, getattr(cfg, "overwrite", False))
    if cfg.resume:
        path = resolve_resume(cfg.resume, out / "checkpoints")
        state = load_state(path, map_location=device)
        saved = json.loads(state["config"])
        now = asdict(cfg)
        diff = {k: (saved.get(k), now.get(k)) for k in arch_keys if k in now and saved.get(k) != now.get(k)}
        if diff:
            raise CheckpointError(f"{path} was written by a run with different {sorted(diff)} ({diff}); resume "
                                  "with the same options")
        wanted_lr = learning_rates(state_objs)  # this run's options; the loaded states carry the old ones
        for name, obj in state_objs.items():
            obj.load_state_dict(state[name])
        for line in restore_learning_rates(state_objs, wanted_lr):
            print(f"--resume: {line}")
        torch.set_rng_state(state["rng"])
        if torch.cuda.is_available() and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"])
        start = int(state["step"])
        print(f"resumed from {path} at step {start}")
    out.mkdir(parents=True, exist_ok=True)
    dump_json(config_record(cfg), out / "config.json")

    def snapshot(step: int) -> None:
        state = {name: obj.state_dict() for name, obj in state_objs.items()}
        state.update(step=step, rng=torch.get_rng_state(), config=json.dumps(config_record(cfg)))
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state()
        try:
            save_state(out / "checkpoints", step, state, keep=cfg.keep)
        except NonFiniteStateError as exc:  # the model directory keeps the last finite weights too
            raise divergence_error(f"non-finite values in {describe_entries(exc.entries)}", step,
                                   out / "checkpoints", diverged_hint) from None
        with torch.random.fork_rng(devices=[]):
            save_model(step)

    log = ScalarLog(out, start_step=start)
    bar = progress_bar(total=cfg.steps, initial=start, desc=desc, enabled=cfg.progress)
    step, t_last = start, time.perf_counter()
    with StopFlag() as stop:
        while step < cfg.steps:
            stats = step_fn(step)
            check_finite(stats, step, out, diverged_hint)
            step += 1
            now = time.perf_counter()
            stats["time/sec_per_step"], t_last = now - t_last, now
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.write(step, step * cfg.batch, stats)
            bar.update(1)
            bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in stats.items() if k in bar_keys})
            if save_grid is not None and cfg.grid_every and (step % cfg.grid_every == 0 or step == cfg.steps):
                with torch.random.fork_rng(devices=[]), torch.no_grad():
                    measures = save_grid(step)
                if measures:  # a grid callback may return scalars measured on its samples
                    log.write(step, step * cfg.batch, measures)
            if step % cfg.snap_every == 0 or step == cfg.steps or stop.requested:
                snapshot(step)
            if stop.requested:
                break
    bar.close()
    log.close()
    if model_dir is not None and not model_dir.is_dir():
        snapshot(step)
    if step < cfg.steps:
        print(f"stopped at step {step}; continue with: {resume_hint} --out {out} --resume latest")
    return step
