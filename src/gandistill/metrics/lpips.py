"""LPIPS v0.1 (Zhang et al. 2018) without torchvision or the ``lpips`` package.

distance(x0, x1) = sum_l mean_hw( w_l . (n(f_l(x0)) - n(f_l(x1)))^2 ), with f_l the trunk's ReLU
outputs after LPIPS' input scaling, n() unit-normalisation over channels and w_l the learned
non-negative 1x1 "lin" heads. Inputs are images in [-1, 1] (use ``to_lpips_input`` for uint8).

Weights (loaded with ``torch.load(weights_only=True)``; nothing is downloaded):
- trunk: torchvision's ImageNet file in ``$TORCH_HOME/hub/checkpoints/`` (``vgg16-397923af.pth`` or
  ``alexnet-owt-7be5be79.pth``);
- heads: the lpips package's ``weights/v0.1/{alex,vgg}.pth``: given path, ``$GANDISTILL_LPIPS_WEIGHTS``
  (a folder holding alex.pth/vgg.pth), an installed ``lpips`` package, or ``~/.cache/gandistill/lpips/v0.1/``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, GandistillError
from .lpips_trunks import TORCHVISION_FILES, TRUNKS
from .stats_cache import cache_root

ENV_VAR = "GANDISTILL_LPIPS_WEIGHTS"
# LPIPS' ScalingLayer: maps [-1, 1] inputs to the ImageNet-normalised range the trunks were trained on.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """LPIPS distance; ``forward(x0, x1)`` -> (N,) for image batches in [-1, 1]."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in TRUNKS:
            raise GandistillError(f"unknown LPIPS network {net!r}; choose one of {', '.join(TRUNKS)}")
        self.net = net
        self.trunk = TRUNKS[net]()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.trunk.channels)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if min(x0.shape[-2:]) < self.trunk.min_size:
            hint = " or use --lpips-net vgg (16x16 minimum)" if self.net == "alex" else ""
            raise GandistillError(f"LPIPS-{self.net} needs images of at least {self.trunk.min_size}x{self.trunk.min_size} "
                                  f"pixels, got {x0.shape[-1]}x{x0.shape[-2]}; upsample them{hint}")
        f0 = self.trunk((x0 - self.shift) / self.scale)
        f1 = self.trunk((x1 - self.shift) / self.scale)
        total = torch.zeros(x0.shape[0], device=x0.device)
        for a, b, lin in zip(f0, f1, self.lins):
            diff = (_unit(a) - _unit(b)).square()
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total


def _unit(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return feat / (feat.square().sum(dim=1, keepdim=True).sqrt() + eps)


def to_lpips_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N,3,H,W) -> float in [-1, 1]; grey is repeated to RGB."""
    x = images.float() / 127.5 - 1
    return x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x


def trunk_weights_path(net: str) -> Path:
    """Where torchvision keeps (and we look for) the trunk's ImageNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILES[net]


def default_head_path(net: str) -> Path:
    return cache_root() / "lpips" / "v0.1" / f"{net}.pth"


def find_head_weights(net: str, path: str | Path | None = None) -> Path:
    """The LPIPS lin-head file for ``net``; raises a GandistillError saying where to put it."""
    if path is not None:
        if not Path(path).is_file():
            raise GandistillError(f"{path}: LPIPS head weights file does not exist; pass lpips' weights/v0.1/{net}.pth")
        return Path(path)
    candidates = []
    env = os.environ.get(ENV_VAR)
    if env:
        candidates.append(Path(env) / f"{net}.pth")
    try:
        spec = importlib.util.find_spec("lpips")  # locates an installed lpips without importing it (it needs torchvision)
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(Path(folder) / "weights" / "v0.1" / f"{net}.pth")
    candidates.append(default_head_path(net))
    for c in candidates:
        if c.is_file():
            return c
    raise GandistillError(
        f"LPIPS-{net} head weights not found (looked in {', '.join(str(c) for c in candidates)}). Place the file "
        f"lpips/weights/v0.1/{net}.pth from https://github.com/richzhang/PerceptualSimilarity at "
        f"{default_head_path(net)}, or pass --lpips-weights PATH, or set ${ENV_VAR} to a folder holding {net}.pth.")


def load_lpips(net: str = "alex", head_path: str | Path | None = None, device: str | torch.device = "cpu") -> LPIPS:
    """LPIPS with ImageNet trunk and v0.1 heads loaded from disk (see module docstring)."""
    model = LPIPS(net)
    trunk_file = trunk_weights_path(net)
    if not trunk_file.is_file():
        name = TORCHVISION_FILES[net]
        raise GandistillError(
            f"LPIPS-{net} needs torchvision's ImageNet weights: place {name} (https://download.pytorch.org/models/{name}) "
            f"at {trunk_file} (the folder follows $TORCH_HOME, default ~/.cache/torch).")
    head_file = find_head_weights(net, head_path)
    trunk_sd = _load_state_dict(trunk_file)
    _copy_into(model.trunk, {k: v for k, v in trunk_sd.items() if k.startswith("features.")}, trunk_file)
    head_sd = _load_state_dict(head_file)
    lin_sd = {}
    for i in range(len(model.lins)):
        key = next((k for k in (f"lin{i}.model.1.weight", f"lins.{i}.model.1.weight", f"lins.{i}.weight") if k in head_sd), None)
        if key is None:
            raise CheckpointError(f"{head_file}: no weight for LPIPS layer {i} (expected key lin{i}.model.1.weight); "
                                  f"is this lpips' weights/v0.1/{net}.pth?")
        lin_sd[f"{i}.weight"] = head_sd[key]
    _copy_into(model.lins, lin_sd, head_file)
    return model.to(device)


def _load_state_dict(path: Path) -> dict:
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors vary by torch version
        raise CheckpointError(f"{path}: cannot be read as a PyTorch weights file ({exc}); re-download it") from exc
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: expected a state dict, found {type(sd).__name__}; re-download the file")
    return sd


def _copy_into(module: nn.Module, state: dict, source: Path) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise CheckpointError(f"{source}: missing {len(missing)} tensor(s) (e.g. {missing[0]}); is this the right file?")
    for k, v in own.items():
        if state[k].shape != v.shape:
            raise CheckpointError(f"{source}: {k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}; wrong network?")
    module.load_state_dict({k: state[k] for k in own})
