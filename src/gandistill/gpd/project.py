"""Projection of real images into W+ of a generator by optimisation (GPD anchors, teacher route).

    ws, quality = project(G, images, ProjectConfig(steps=300), D=D_T)

Loss: ``w_l2``·MSE(G(w), x) + ``w_feat``·d_φ(G(w), x) + ``w_wplus``·‖w_l − mean_l w‖²/std(W)² (the terms
``losses.PROJECTION_TERMS``), with d_φ LPIPS when its weights are on disk, else a feature distance in the
(frozen) discriminator trunk.
Start: w_avg in every row. Noise regularisation: W is perturbed by Gaussian noise that ramps down from
``noise_start``·std(W) to 0 over the first ``noise_ramp`` of the steps (as the NVlabs projector does);
the per-layer noise maps stay the generator's constant ones, so the anchor renders identically in G_T and
G_target. Learning rate ``lr``·std(W) with cosine ramp-down over the last quarter.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch

from ..errors import GandistillError
from ..train.terms import combine, weights_of
from ..utils.inference import prepare_for_inference
from ..utils.logging import progress_bar
from .common import NOISE_MODE, w_stats
from .config import ProjectConfig
from .losses import PROJECTION_TERMS, ProjectionBatch

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (a, b) in [-1, 1] → [N]


def _unit(f: torch.Tensor) -> torch.Tensor:
    return f / (f.square().sum(dim=1, keepdim=True).sqrt() + 1e-8)


def dfeat_features(D) -> Callable[[torch.Tensor], list[torch.Tensor]]:
    """φ from a frozen StyleGAN2 discriminator trunk: channel-normalised features at every resolution."""
    def phi(img: torch.Tensor) -> list[torch.Tensor]:
        return [_unit(f) for f in D.trunk(img).values()]
    return phi


def lpips_available() -> bool:
    try:
        from ..metrics.lpips import find_head_weights, trunk_weights_path

        find_head_weights("alex")
        return trunk_weights_path("alex").is_file()
    except Exception:
        return False


def feature_distance(kind: str, D=None, device: torch.device | str = "cpu") -> tuple[Distance, str]:
    """(distance(a, b) → [N], name). ``kind``: auto | lpips | dfeat."""
    if kind in ("auto", "lpips") and lpips_available():
        from ..metrics.lpips import load_lpips

        net = load_lpips("alex", device=device)

        def lp(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            if a.shape[1] == 1:
                a, b = a.repeat(1, 3, 1, 1), b.repeat(1, 3, 1, 1)
            return net(a, b)
        return lp, "lpips-alex"
    if kind == "lpips":
        raise GandistillError("LPIPS weights are not on disk (see gandistill.metrics.lpips); use --loss dfeat")
    if D is None:
        raise GandistillError("the feature loss needs a discriminator trunk (D_T) when LPIPS is unavailable")
    phi = dfeat_features(D)

    def df(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return sum((fa - fb).square().sum(1).mean(dim=(1, 2)) for fa, fb in zip(phi(a), phi(b)))  # type: ignore
    return df, "dfeat"


def project(G, images: torch.Tensor, cfg: ProjectConfig | None = None, D=None,
            distance: Distance | None = None, progress: bool = False) -> tuple[torch.Tensor, dict]:
    """Project float images [N, C, R, R] in [-1, 1] into W+ of ``G``; returns (ws [N, num_ws, w_dim], quality).

    quality: per-image ``l1`` (fraction of the range), ``psnr`` (dB) and the feature distance, and their means.
    """
    cfg = cfg or ProjectConfig()
    if images.ndim != 4 or images.shape[1] != G.img_channels or images.shape[-1] != G.resolution:
        raise GandistillError(f"projection needs [N, {G.img_channels}, {G.resolution}, {G.resolution}] images, "
                              f"got {list(images.shape)}")
    dev = next(G.parameters()).device
    name = "given"
    if distance is None:
        distance, name = feature_distance(cfg.loss, D, dev)
    w_avg, w_std = w_stats(G)
    weights = weights_of(cfg, PROJECTION_TERMS)
    gen = torch.Generator().manual_seed(cfg.seed)
    was_training = G.training
    d_training = D.training if D is not None else False
    # frozen networks, only w is optimised: eval + channels-last (the layout stays; modes are restored)
    prepare_for_inference(G)
    if D is not None:
        prepare_for_inference(D)
    req = [p.requires_grad for p in G.parameters()]
    G.requires_grad_(False)
    chunks = list(images.split(cfg.batch))
    bar = progress_bar(cfg.steps * len(chunks), desc="project", enabled=progress)
    out = []
    for target in chunks:
        target = target.to(dev)
        w = w_avg.to(dev).view(1, 1, -1).repeat(len(target), G.num_ws, 1).clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=cfg.lr * w_std, betas=(0.9, 0.999))
        for t in range(cfg.steps):
            frac = t / max(cfg.steps, 1)
            lr_mul = min(1.0, 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1 - frac) / 0.25)))
            lr_mul *= min(1.0, frac / 0.05) if frac < 0.05 else 1.0
            for group in opt.param_groups:
                group["lr"] = cfg.lr * w_std * max(lr_mul, 0.02)
            scale = w_std * cfg.noise_start * max(0.0, 1 - frac / max(cfg.noise_ramp, 1e-8)) ** 2
            w_in = w + torch.randn(w.shape, generator=gen).to(dev) * scale if scale > 0 else w
            img = G.synthesis(w_in, noise_mode=NOISE_MODE)
            loss, _ = combine(PROJECTION_TERMS, ProjectionBatch(img, target, w, w_std, distance), weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update(1)
        out.append(w.detach())
    bar.close()
    for p, r in zip(G.parameters(), req):
        p.requires_grad_(r)
    G.train(was_training)
    if D is not None:
        D.train(d_training)
    ws = torch.cat(out)
    with torch.inference_mode():
        recon = torch.cat([G.synthesis(c, noise_mode=NOISE_MODE) for c in ws.split(cfg.batch)])
        quality = projection_quality(recon, images.to(dev), distance, name)
    if quality["mean_psnr"] < 15:
        warnings.warn(f"projection is poor (mean PSNR {quality['mean_psnr']:.1f} dB): raise --steps or check that "
                      "the images belong to the generator's domain", stacklevel=2)
    return ws, quality


@torch.no_grad()
def projection_quality(recon: torch.Tensor, target: torch.Tensor, distance: Distance | None = None,
                       name: str = "feature") -> dict:
    from ..metrics.pixel import l1, psnr
    from ..utils.images import to_uint8

    a, b = to_uint8(recon), to_uint8(target)
    q = {"l1": l1(a, b).tolist(), "psnr": psnr(a, b).clamp(max=99).tolist()}
    if distance is not None:
        q[name] = distance(recon, target).tolist()
    for k in list(q):
        q[f"mean_{k}"] = float(sum(q[k]) / len(q[k]))
    return q
