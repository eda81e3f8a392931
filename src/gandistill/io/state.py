"""Training state: ``checkpoints/state-<step>.pt`` with every network, optimiser and RNG state.

Written atomically (temp file, fsync, rename) and rotated to the last ``keep`` files; loaded with
``weights_only=True`` so a checkpoint can never run code. A state holding NaN/inf anywhere (weights, EMA,
optimiser moments, buffers) is never written, so every state on disk is one training can go on from.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .atomic import atomic_path

STATE_RE = re.compile(r"^state-(\d+)\.pt$")


def state_path(folder: str | Path, step: int) -> Path:
    return Path(folder) / f"state-{step:08d}.pt"


def list_states(folder: str | Path) -> list[tuple[int, Path]]:
    """Completed states in a folder, oldest first (temp files of interrupted writes are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STATE_RE.match(p.name))]
    return sorted(found)


class NonFiniteStateError(CheckpointError):
    """A training state with NaN/inf values was not saved; ``entries`` names them (e.g. ``opt_d.state.3.exp_avg_sq``)."""

    def __init__(self, message: str, entries: list[str]):
        super().__init__(message)
        self.entries = entries


def nonfinite_entries(obj: Any, prefix: str = "") -> list[str]:
    """Dotted names of every floating tensor inside ``obj`` (nested dicts/lists) holding NaN or inf."""
    if isinstance(obj, torch.Tensor):
        if (obj.is_floating_point() or obj.is_complex()) and not bool(torch.isfinite(obj).all()):
            return [prefix or "<tensor>"]
        return []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    bad: list[str] = []
    for key, value in items:
        bad += nonfinite_entries(value, f"{prefix}.{key}" if prefix else str(key))
    return bad


def describe_entries(entries: list[str], limit: int = 4) -> str:
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(entries[:limit]) + more


def save_state(folder: str | Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``state-<step>.pt`` atomically and keep the newest ``keep``; refuses a non-finite state
    (:class:`NonFiniteStateError`) so that rotation can never push the last good state out."""
    path = state_path(folder, step)
    bad = nonfinite_entries(state)
    if bad:
        raise NonFiniteStateError(f"not saving {path}: non-finite values in {describe_entries(bad)}", bad)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    if keep > 0:
        for _, old in list_states(folder)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def last_good_state(folder: str | Path) -> Path | None:
    """The newest state in ``folder`` whose tensors are all finite (older versions could save NaN states)."""
    for _, path in reversed(list_states(folder)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # truncated or unreadable: not a state to resume from
            continue
        if not nonfinite_entries(state):
            return path
    return None


def resolve_resume(spec: str, folder: str | Path) -> Path:
    """``latest`` → newest state in ``folder``; otherwise a path to a state file or a run directory."""
    if spec == "latest":
        states = list_states(folder)
        if not states:
            raise CheckpointError(f"--resume latest: no state-*.pt in {folder}; start without --resume (with "
                                  "--overwrite if an earlier start left files in that run directory)")
        return states[-1][1]
    path = Path(spec)
    if path.is_dir():
        sub = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        states = list_states(sub)
        if not states:
            raise CheckpointError(f"--resume {spec}: no state-*.pt found in {sub}")
        return states[-1][1]
    if not path.is_file():
        raise CheckpointError(f"--resume {spec}: no such file")
    return path


def load_state(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt zips
        raise CheckpointError(f"cannot load training state {path}: {exc}. It may be truncated; "
                              "resume from an older state-*.pt in the same folder") from exc
