"""Small pieces shared by the GPD engines: checkpoint helpers, teacher lookup, W statistics."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..io.state import load_state, resolve_resume, save_state

def _shared_helper(*names: str):
    """Training helpers live in teacher.train; the KDIT work may move them to utils.training."""
    import importlib

    for mod in ("gandistill.utils.training", "gandistill.teacher.train"):
        try:
            module = importlib.import_module(mod)
        except ImportError:
            continue
        for name in names:
            if hasattr(module, name):
                return getattr(module, name)
    raise ImportError(f"none of {names} found in gandistill.utils.training / gandistill.teacher.train")


StopFlag = _shared_helper("StopFlag", "_StopFlag")
adam = _shared_helper("adam", "_adam")

NOISE_MODE = "const"  # both generators render a latent with the same fixed noise, so w alone defines a pair


@torch.no_grad()
def w_stats(G, n: int = 2000, seed: int = 1234) -> tuple[torch.Tensor, float]:
    """(mean w [w_dim], scalar std of W) from ``n`` seeded mapping samples (deterministic)."""
    dev = next(G.parameters()).device
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(dev)
    w = G.mapping(z)[:, 0]
    return w.mean(0), float(w.var(0).mean().sqrt())


def resume_state(spec: str, out: Path, cfg_cls, cfg, check_keys: tuple[str, ...], device) -> tuple[dict, Path]:
    """Load a training state and check the options that define the model did not change."""
    from ..config import from_dict

    path = resolve_resume(spec, out / "checkpoints")
    state = load_state(path, map_location=device)
    saved = from_dict(cfg_cls, json.loads(state["config"]))
    diff = [k for k in check_keys if getattr(saved, k) != getattr(cfg, k)]
    if diff:
        raise CheckpointError(f"{path} was written with different {', '.join(diff)} "
                              f"({', '.join(f'{k}={getattr(saved, k)!r}' for k in diff)}); "
                              "resume with the same options")
    return state, path


def snapshot_state(out: Path, step: int, cfg, keep: int, **objs: Any) -> Path:
    state = {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in objs.items()}
    state.update(step=step, rng=torch.get_rng_state(), config=json.dumps(asdict(cfg)))
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state()
    return save_state(out / "checkpoints", step, state, keep=keep)


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["rng"])
    if torch.cuda.is_available() and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"])
