"""Helpers shared by the training engines (teacher, KDIT, GPD): Ctrl-C handling, the Adam set-up, the run
directory guard (no fresh run over an earlier one without ``--overwrite``), the divergence error and the
learning rate given with ``--resume``."""
from __future__ import annotations

import dataclasses
import math
import shutil
import signal
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import GandistillError
from ..io.atomic import remove_stale_temps
from ..io.state import last_good_state, list_states

#: what a training run writes into its --out (``--overwrite`` removes exactly these, nothing else)
RUN_FILES = ("config.json", "stats.jsonl")
RUN_DIRS = ("checkpoints", "model", "samples", "tensorboard")


class StopFlag:
    """First Ctrl-C asks the loop to stop after the current step (and save); a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> "StopFlag":
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not in the main thread
            self._old = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and saving the training state (Ctrl-C again to abort)", flush=True)

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def adam(params, lr: float, beta2: float, reg_interval: int, beta1: float = 0.0) -> torch.optim.Adam:
    """Adam for GAN training; with lazy regularisation every ``reg_interval`` steps, lr and betas are
    scaled so that the effective schedule matches per-step regularisation (StyleGAN2).

    On CPU and CUDA the update is torch's fused kernel (one pass over each tensor instead of a Python loop
    of ~6 elementwise ops per parameter: ~3× faster on CPU). It rounds differently from the loop in the last
    bit (~1e-7), and deterministically, so a resumed run still continues bit for bit (the saved state records
    which update it used)."""
    params = list(params)
    ratio = reg_interval / (reg_interval + 1) if reg_interval > 0 else 1.0
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.Adam(params, lr=lr * ratio, betas=(beta1 ** ratio, beta2 ** ratio), eps=1e-8,
                            fused=fused or None)


def config_record(cfg: Any) -> dict[str, Any]:
    """``config.json`` of a run: the resolved options; ``overwrite`` is an action of one start, not a setting
    (a later ``--config run/config.json`` must not delete the run)."""
    record = dataclasses.asdict(cfg)
    if "overwrite" in record:
        record["overwrite"] = False
    return record


def holds_run(out: str | Path) -> bool:
    """Whether ``out`` already holds a training run (its config, log, states or model)."""
    out = Path(out)
    return (out / "config.json").is_file() or (out / "stats.jsonl").is_file() or \
        bool(list_states(out / "checkpoints")) or (out / "model" / "config.json").is_file()


def prepare_run_dir(out: str | Path, resume: str | None, overwrite: bool, clear: bool = True,
                    inputs: dict[str, str | Path | None] | None = None, run_files: Sequence[str] = ()) -> None:
    """Refuse a fresh run in a ``--out`` that holds an earlier one unless ``overwrite`` (then remove that run's
    files, if ``clear``, so its states can never mix with the new ones); also drop interrupted-write leftovers.
    ``inputs`` (option → path) are refused if ``--overwrite`` would delete them. ``run_files``: further file
    names that a later stage writes into this run folder from its model (``gpd adapt``: the default anchors
    file), removed with the run because they belong to the old model.

    Safe to call twice: once cleared, the folder no longer holds a run. Pass ``clear=False`` on every process
    but rank 0 (and for a dry run): then nothing is deleted.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GandistillError(f"--out {out} is a file, not a folder; choose another --out")
    if resume and overwrite:
        raise GandistillError("--resume continues the run in --out and --overwrite deletes it; pass only one")
    if not resume and holds_run(out):
        if not overwrite:
            raise GandistillError(f"--out {out} already holds a training run (config.json, stats.jsonl, "
                                  "checkpoints/, model/); continue it with --resume latest, replace it with "
                                  "--overwrite, or choose another --out")
        doomed = [(out / name).resolve() for name in (*RUN_DIRS, *RUN_FILES, *run_files)]
        for option, value in (inputs or {}).items():
            if value and any(Path(value).resolve() == d or d in Path(value).resolve().parents for d in doomed):
                raise GandistillError(f"{option} {value} lies in the run that --overwrite would delete from "
                                      f"{out}; copy it elsewhere first or choose another --out")
        if clear:
            for name in RUN_DIRS:
                if (out / name).is_dir():
                    shutil.rmtree(out / name)
            for name in (*RUN_FILES, *run_files):
                (out / name).unlink(missing_ok=True)
            print(f"--overwrite: removed the earlier run in {out}")
    if clear:  # rank 0 only: another rank's sweep could delete a temp file rank 0 is writing right now
        for folder in (out, out / "checkpoints", out / "model"):
            remove_stale_temps(folder, older_than_s=0)  # nothing else writes here while this run starts


def divergence_error(what: str, step: int, checkpoints: str | Path, hint: str) -> GandistillError:
    """The error for a diverged run, naming the newest state that holds only finite values."""
    last = last_good_state(checkpoints)
    where = f"the last good state is {last}" if last else "no good training state was saved yet"
    then = f"then --resume {last}" if last else "then start again"
    return GandistillError(f"{what} at step {step}: training diverged; {where}. {hint}, {then}.")


def nonfinite_stats(stats: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in stats.items() if not math.isfinite(v)}


def learning_rates(optimisers: dict[str, Any]) -> dict[str, list[float]]:
    """The current lr of every param group of every optimiser in ``optimisers`` (other objects skipped)."""
    return {name: [float(g["lr"]) for g in opt.param_groups] for name, opt in optimisers.items()
            if isinstance(opt, torch.optim.Optimizer)}


def restore_learning_rates(optimisers: dict[str, Any], wanted: dict[str, list[float]]) -> list[str]:
    """After loading optimiser states, put back the learning rates of this run's options (a loaded state
    carries the old ones); returns one line per optimiser whose rate changed."""
    changed = []
    for name, lrs in wanted.items():
        groups = optimisers[name].param_groups
        old = [float(g["lr"]) for g in groups]
        for g, lr in zip(groups, lrs):
            g["lr"] = lr
        if any(not math.isclose(a, b, rel_tol=1e-9) for a, b in zip(old, lrs)):
            changed.append(f"{name}: learning rate {old[0]:.4g} → {lrs[0]:.4g} (the value given now)")
    return changed
