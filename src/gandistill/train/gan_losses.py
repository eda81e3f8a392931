"""The GAN losses every stage shares: small functions of logits and images, combined by the stages' phases
(non-saturating generator loss, logistic discriminator loss, R1 gradient penalty, path length)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator: -log sigmoid(D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def d_logistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator: -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_img: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D at real images (``real_img`` must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_img, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


def path_length(img: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
    """Per-sample Jacobian norm ‖J_w^T y‖ for random image-space y (path-length regularisation)."""
    noise = torch.randn_like(img) / (img.shape[2] * img.shape[3]) ** 0.5
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
    return grad.square().sum(dim=2).mean(dim=1).sqrt()


def r1_gamma_heuristic(resolution: int, batch: int) -> float:
    """The default R1 weight 0.0002·res²/batch (NVlabs stylegan2-ada's heuristic)."""
    return 0.0002 * resolution ** 2 / batch
