"""Training state: ``checkpoints/state-<step>.pt`` with every network, optimiser and RNG state.

Written atomically (temp file, fsync, rename) and rotated to the last ``keep`` files; loaded with
``weights_only=True`` so a checkpoint can never run code.
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


def save_state(folder: str | Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    path = state_path(folder, step)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    if keep > 0:
        for _, old in list_states(folder)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def resolve_resume(spec: str, folder: str | Path) -> Path:
    """``latest`` → newest state in ``folder``; otherwise a path to a state file or a run directory."""
    if spec == "latest":
        states = list_states(folder)
        if not states:
            raise CheckpointError(f"--resume latest: no state-*.pt in {folder}; start without --resume")
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
