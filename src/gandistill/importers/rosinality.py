"""Import and export rosinality ``stylegan2-pytorch`` checkpoints (``.pt``).

    teacher = load_rosinality("550000.pt")            # g_ema + d + latent_avg → Teacher
    teacher = load_rosinality("550000.pt", which="g") # the training generator instead
    export_rosinality(teacher, "teacher.pt")          # back to rosinality's layout

The file is read with ``torch.load(weights_only=True)``; only ``argparse.Namespace`` (train.py's
``args``) is allowed on top of plain tensors and containers. The architecture is inferred from
the weight shapes (the channel table is recorded nowhere) and every tensor is moved by the
explicit key map below. All transforms are pure reshapes: rosinality stores conv weights with a
leading batch axis, noise strengths as (1,), ToRGB biases as (1, C, 1, 1) and the constant input
as (1, C, 4, 4); no flip, transpose or bias offset is needed (see shared/fixtures/README.md).
"""
from __future__ import annotations

import argparse
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import CheckpointError
from ..io.atomic import atomic_path
from ..teacher.config import StyleGAN2Config
from ..teacher.model import Teacher
from ..teacher.ops import make_fir_kernel

# --- the key map ------------------------------------------------------------------------------
# Each rule is (our key, rosinality key, shape rule). A shape rule maps our tensor's shape to the
# shape rosinality stores; import checks the stored shape against it and reshapes.
ShapeRule = Callable[[tuple[int, ...]], tuple[int, ...]]
SAME: ShapeRule = lambda s: s                      # noqa: E731
LEAD1: ShapeRule = lambda s: (1, *s)               # (out,in,k,k) → (1,out,in,k,k); () → (1,); const
RGB_BIAS: ShapeRule = lambda s: (1, *s, 1, 1)      # (C,) → (1, C, 1, 1)

# suffixes inside one layer: ours → (rosinality, shape rule)
STYLED_CONV = {
    "conv.weight": ("conv.weight", LEAD1),
    "conv.affine.weight": ("conv.modulation.weight", SAME),
    "conv.affine.bias": ("conv.modulation.bias", SAME),   # both include the +1 initial offset
    "noise_strength": ("noise.weight", LEAD1),
    "bias": ("activate.bias", SAME),
}
TO_RGB = {
    "conv.weight": ("conv.weight", LEAD1),
    "conv.affine.weight": ("conv.modulation.weight", SAME),
    "conv.affine.bias": ("conv.modulation.bias", SAME),
    "bias": ("bias", RGB_BIAS),
}
D_BLOCK = {  # our DiscriminatorBlock → rosinality ResBlock (index shifts where a blur comes first)
    "conv0.weight": ("conv1.0.weight", SAME),
    "conv0.bias": ("conv1.1.bias", SAME),
    "conv1.weight": ("conv2.1.weight", SAME),
    "conv1.bias": ("conv2.2.bias", SAME),
    "skip.weight": ("skip.1.weight", SAME),
}
D_FIXED = {
    "fromrgb.weight": ("convs.0.0.weight", SAME),
    "fromrgb.bias": ("convs.0.1.bias", SAME),
    "conv.weight": ("final_conv.0.weight", SAME),
    "conv.bias": ("final_conv.1.bias", SAME),
    "fc.weight": ("final_linear.0.weight", SAME),
    "fc.bias": ("final_linear.0.bias", SAME),
    "out.weight": ("final_linear.1.weight", SAME),
    "out.bias": ("final_linear.1.bias", SAME),
}
Rule = tuple[str, str, ShapeRule]


def generator_rules(cfg: StyleGAN2Config) -> list[Rule]:
    """Our Generator keys ↔ rosinality Generator keys (``mapping.w_avg`` ↔ top-level latent_avg)."""
    rules: list[Rule] = []
    for i in range(cfg.mapping_layers):  # style.0 is the parameter-free PixelNorm
        rules += [(f"mapping.layers.{i}.weight", f"style.{i + 1}.weight", SAME),
                  (f"mapping.layers.{i}.bias", f"style.{i + 1}.bias", SAME)]
    rules.append(("synthesis.blocks.0.const", "input.input", LEAD1))
    # styled convs in rosinality order: conv1, convs.0, convs.1, …; noises.noise_j follows that order
    layers = [("synthesis.blocks.0.conv1", "conv1")]
    for k in range(len(cfg.resolutions) - 1):
        layers += [(f"synthesis.blocks.{k + 1}.conv0", f"convs.{2 * k}"),
                   (f"synthesis.blocks.{k + 1}.conv1", f"convs.{2 * k + 1}")]
    for j, (ours, theirs) in enumerate(layers):
        rules += [(f"{ours}.{a}", f"{theirs}.{b}", rule) for a, (b, rule) in STYLED_CONV.items()]
        rules.append((f"{ours}.noise_const", f"noises.noise_{j}", SAME))
    for b in range(len(cfg.resolutions)):
        theirs = "to_rgb1" if b == 0 else f"to_rgbs.{b - 1}"
        rules += [(f"synthesis.blocks.{b}.torgb.{a}", f"{theirs}.{c}", rule) for a, (c, rule) in TO_RGB.items()]
    return rules


def discriminator_rules(cfg: StyleGAN2Config) -> list[Rule]:
    rules = [(a, b, rule) for a, (b, rule) in D_FIXED.items()]
    for j in range(len(cfg.resolutions) - 1):  # our blocks.j = rosinality convs.(j+1)
        rules += [(f"blocks.{j}.{a}", f"convs.{j + 1}.{b}", rule) for a, (b, rule) in D_BLOCK.items()]
    return rules


def kernel_buffers(cfg: StyleGAN2Config) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The constant FIR buffers rosinality keeps in its state dicts: (generator, discriminator)."""
    up = make_fir_kernel(cfg.blur_kernel, gain=4.0)   # compensates the zero insertion
    down = make_fir_kernel(cfg.blur_kernel)
    g: dict[str, torch.Tensor] = {}
    for k in range(len(cfg.resolutions) - 1):
        g[f"convs.{2 * k}.conv.blur.kernel"] = up
        g[f"to_rgbs.{k}.upsample.kernel"] = up
    d: dict[str, torch.Tensor] = {}
    for j in range(1, len(cfg.resolutions)):
        d[f"convs.{j}.conv2.0.kernel"] = down
        d[f"convs.{j}.skip.0.kernel"] = down
    return g, d


# --- reading ----------------------------------------------------------------------------------
def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """torch.load with weights_only=True (argparse.Namespace allowed); errors become CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"the pickle references {found.group(1)}" if found else str(exc).strip().split(". ")[0]
        raise CheckpointError(f"refusing to load {path}: {what}, which is not a tensor or plain container "
                              "(a rosinality checkpoint needs nothing else; loading it normally could "
                              "run arbitrary code)") from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path} cannot be read as a PyTorch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); "
                              "the file is truncated or corrupt") from exc
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} holds a {type(ckpt).__name__}, not a rosinality checkpoint dict "
                              "(expected keys g_ema, g, d, latent_avg)")
    return ckpt


def _state(ckpt: dict[str, Any], name: str, origin: str) -> dict[str, torch.Tensor]:
    if name not in ckpt:
        raise CheckpointError(f"{origin} has no {name!r} entry (it has {sorted(map(str, ckpt))}); "
                              "a rosinality checkpoint stores g_ema, g and d")
    sd = ckpt[name]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{origin}[{name!r}] is not a state dict of tensors")
    return sd


def _need(sd: dict[str, torch.Tensor], key: str, where: str, ndim: int) -> torch.Tensor:
    if key not in sd:
        raise CheckpointError(f"{where} lacks {key!r}; the file is incomplete or not a rosinality StyleGAN2")
    t = sd[key]
    if t.ndim != ndim:
        raise CheckpointError(f"{where}[{key!r}] has shape {list(t.shape)}, expected {ndim} dimensions")
    return t


def infer_config(g: dict[str, torch.Tensor], d: dict[str, torch.Tensor] | None,
                 origin: str = "checkpoint") -> StyleGAN2Config:
    """Resolution, style_dim, n_mlp, channel table and image channels from the weight shapes."""
    n_mlp = len([k for k in g if re.fullmatch(r"style\.\d+\.weight", k)])
    if n_mlp == 0:
        raise CheckpointError(f"{origin}: generator has no mapping layers ('style.N.weight')")
    z_dim = _need(g, "style.1.weight", origin, 2).shape[1]
    w_dim = _need(g, f"style.{n_mlp}.weight", origin, 2).shape[0]
    n_rgbs = len([k for k in g if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k)])
    resolution = 2 ** (2 + n_rgbs)
    channels = {4: int(_need(g, "input.input", origin, 4).shape[1])}
    for k in range(n_rgbs):
        channels[8 * 2 ** k] = int(_need(g, f"convs.{2 * k}.conv.weight", origin, 5).shape[1])
    img_channels = int(_need(g, "to_rgb1.conv.weight", origin, 5).shape[1])
    if d is not None:
        d_channels = {resolution: int(_need(d, "convs.0.0.weight", origin, 4).shape[0])}
        for j in range(1, n_rgbs + 1):
            d_channels[resolution >> j] = int(_need(d, f"convs.{j}.conv2.1.weight", origin, 4).shape[0])
        if d_channels != channels:
            raise CheckpointError(f"{origin}: generator channels {channels} differ from discriminator "
                                  f"channels {d_channels}; gandistill teachers share one table")
        d_img = int(d["convs.0.0.weight"].shape[1])
        if d_img != img_channels:
            raise CheckpointError(f"{origin}: generator makes {img_channels}-channel images but the "
                                  f"discriminator reads {d_img} channels")
    try:
        return StyleGAN2Config(resolution=resolution, img_channels=img_channels, z_dim=z_dim, w_dim=w_dim,
                               mapping_layers=n_mlp, **channel_fields(channels))
    except ValueError as exc:
        raise CheckpointError(f"{origin}: unsupported architecture ({exc})") from exc


def channel_fields(channels: dict[int, int]) -> dict[str, Any]:
    """channel_base/channel_max when the table is min(base // r, max), else an explicit table."""
    top = max(channels)
    base, cmax = channels[top] * top, max(channels.values())
    if all(min(base // r, cmax) == c for r, c in channels.items()):
        return {"channel_base": base, "channel_max": cmax, "channels": None}
    return {"channels": {str(r): c for r, c in sorted(channels.items())}}


def apply_rules(model: torch.nn.Module, src: dict[str, torch.Tensor], rules: list[Rule], origin: str,
                extra: dict[str, torch.Tensor] | None = None, ignore: dict[str, torch.Tensor] | None = None) -> None:
    """Copy ``src`` into ``model`` through ``rules``; every key must be used, every shape must fit."""
    own = model.state_dict()
    extra = extra or {}
    ignore = ignore or {}
    out: dict[str, torch.Tensor] = dict(extra)
    missing, bad = [], []
    for ours, theirs, rule in rules:
        if theirs not in src:
            missing.append(theirs)
            continue
        want = rule(tuple(own[ours].shape))
        t = src[theirs]
        if tuple(t.shape) != want:
            bad.append(f"{theirs}: file {list(t.shape)}, expected {list(want)}")
            continue
        out[ours] = t.detach().to(torch.float32).reshape(own[ours].shape)
    if missing:
        raise CheckpointError(f"{origin} lacks {len(missing)} tensors: {', '.join(missing[:6])}"
                              f"{' …' if len(missing) > 6 else ''}")
    if bad:
        raise CheckpointError(f"{origin} has tensors of the wrong shape for the inferred architecture: "
                              + "; ".join(bad[:6]))
    used = {theirs for _, theirs, _ in rules}
    unexpected = sorted(k for k in src if k not in used and k not in ignore)
    if unexpected:
        raise CheckpointError(f"{origin} has tensors this StyleGAN2 does not use: {', '.join(unexpected[:6])}; "
                              "is it a different architecture (SWAGAN, conditional, …)?")
    for key, want in ignore.items():
        if key in src and (src[key].shape != want.shape or
                           not torch.allclose(src[key].float(), want, atol=1e-6)):
            raise CheckpointError(f"{origin}[{key!r}] is not the [1, 3, 3, 1] FIR kernel; "
                                  "non-standard blur kernels are not supported")
    leftover = sorted(set(own) - set(out))
    if leftover:  # a bug in the rules, not in the file
        raise CheckpointError(f"{origin}: key map leaves {leftover[:6]} unset")
    model.load_state_dict(out)


def load_rosinality(path: str | Path, which: str = "g_ema") -> Teacher:
    """A rosinality checkpoint as a Teacher: ``which`` ("g_ema" or "g") becomes G, "d" becomes D.

    ``latent_avg`` (written by convert_weight.py) becomes ``mapping.w_avg``; checkpoints straight
    from train.py have none, and then w_avg is estimated as the mean w of 10,000 seeded z's.
    """
    ckpt = read_checkpoint(path)
    return teacher_from_rosinality(ckpt, which=which, origin=str(path))


def teacher_from_rosinality(ckpt: dict[str, Any], which: str = "g_ema", origin: str = "checkpoint") -> Teacher:
    if which not in ("g_ema", "g"):
        raise CheckpointError(f"which must be 'g_ema' or 'g', got {which!r}")
    args = ckpt.get("args")
    arch = getattr(args, "arch", "stylegan2")
    if arch != "stylegan2":
        raise CheckpointError(f"{origin} was trained with arch={arch!r}; only 'stylegan2' is supported")
    g = _state(ckpt, which, origin)
    # convert_weight.py without --disc writes only g_ema and latent_avg: no discriminator
    d = _state(ckpt, "d", origin) if "d" in ckpt else None
    cfg = infer_config(g, d, origin)
    with torch.random.fork_rng(devices=[]):  # a missing D gets the same seeded initialisation every time
        torch.manual_seed(0)
        teacher = Teacher(cfg)
    g_kernels, d_kernels = kernel_buffers(cfg)
    latent_avg = ckpt.get("latent_avg")
    extra = {}
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != cfg.w_dim:
            raise CheckpointError(f"{origin}['latent_avg'] should be a tensor of {cfg.w_dim} values, "
                                  f"got {getattr(latent_avg, 'shape', type(latent_avg).__name__)}")
        extra["mapping.w_avg"] = latent_avg.detach().to(torch.float32).reshape(cfg.w_dim)
    else:
        extra["mapping.w_avg"] = torch.zeros(cfg.w_dim)
    apply_rules(teacher.G, g, generator_rules(cfg), f"{origin}[{which!r}]", extra=extra, ignore=g_kernels)
    teacher.import_notes = []  # type: ignore[attr-defined]
    if d is not None:
        apply_rules(teacher.D, d, discriminator_rules(cfg), f"{origin}['d']", ignore=d_kernels)
    else:
        teacher.import_notes.append(  # type: ignore[attr-defined]
            "no discriminator ('d') in the file: D is freshly initialised (seed 0); sampling and KDIT use only G, "
            "GPD adaptation starts its D from scratch instead of a pretrained one")
    if latent_avg is None or which == "g":  # latent_avg is the mean w of g_ema, not of g
        estimate_w_avg(teacher.G)
        teacher.import_notes.append(  # type: ignore[attr-defined]
            f"{'no latent_avg in the file' if latent_avg is None else 'latent_avg belongs to g_ema'}: "
            f"w_avg of {which} estimated from 10,000 seeded z's")
    return teacher


@torch.no_grad()
def estimate_w_avg(G: torch.nn.Module, n: int = 10_000, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.mapping.z_dim, generator=gen)
    G.mapping.w_avg.copy_(G.mapping(z)[:, 0].mean(0))


# --- writing ----------------------------------------------------------------------------------
def rosinality_state_dicts(teacher: Teacher) -> dict[str, Any]:
    """The teacher in rosinality's layout: {'g_ema', 'g', 'd', 'latent_avg'} (g is a copy of g_ema)."""
    cfg = teacher.config
    g_kernels, d_kernels = kernel_buffers(cfg)
    G, D = teacher.G.state_dict(), teacher.D.state_dict()
    g = {theirs: G[ours].detach().cpu().reshape(rule(tuple(G[ours].shape))).clone()
         for ours, theirs, rule in generator_rules(cfg)}
    g.update({k: v.clone() for k, v in g_kernels.items()})
    d = {theirs: D[ours].detach().cpu().reshape(rule(tuple(D[ours].shape))).clone()
         for ours, theirs, rule in discriminator_rules(cfg)}
    d.update({k: v.clone() for k, v in d_kernels.items()})
    return {"g_ema": g, "g": {k: v.clone() for k, v in g.items()}, "d": d,
            "latent_avg": G["mapping.w_avg"].detach().cpu().clone()}


def export_rosinality(teacher: Teacher, path: str | Path) -> Path:
    """Write a rosinality-style ``.pt`` (plain dict of tensors; loads with weights_only=True).

    Rosinality's Generator(size, style_dim, n_mlp) rebuilds it only when z_dim == w_dim and the
    channel table equals its own; other tools (and :func:`load_rosinality`) read it as is.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(rosinality_state_dicts(teacher), tmp)
    return path
