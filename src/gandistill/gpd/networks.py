"""GPD student translators (U-Net, ResNet blocks) and the conditional PatchGAN discriminator.

    S = UNetTranslator(TranslatorConfig(in_channels=3, out_channels=3, resolution=256))
    y = S(x)                        # [N, out, H, W] in [-1, 1]; any H, W divisible by 2**depth
    D = PatchDiscriminator(PatchGANConfig(in_channels=6))
    logits = D(torch.cat([x, y], 1))  # [N, 1, h, w]: one real/fake logit per patch
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GandistillError
from ..io.pretrained import PretrainedMixin
from ..io.registry import load_model, register_model
from ..options import field


@dataclass
class TranslatorShape:
    """Width, depth and normalisation of a translator: the part ``gpd distill`` takes as options."""

    channels: int = field(32, help="base channel count")
    max_channels: int = field(256, help="largest channel count (U-Net)")
    depth: int = field(4, help="U-Net: stride-2 levels; ResNet: residual blocks")
    norm: Literal["instance", "batch", "none"] = field("instance", help="normalisation layer")


@dataclass
class TranslatorConfig(TranslatorShape):
    in_channels: int = field(3, help="input image channels")
    out_channels: int = field(3, help="output image channels")
    resolution: int = field(32, help="training resolution (inputs are resized to it by `translate`)")


@dataclass
class PatchGANConfig:
    in_channels: int = field(6, help="condition + image channels")
    channels: int = field(32, help="base channel count")
    layers: int = field(3, help="stride-2 layers")
    norm: Literal["instance", "batch", "none"] = field("instance", help="normalisation layer")


class InstanceNorm(nn.Module):
    """``nn.InstanceNorm2d(channels, affine=True)`` (eps 1e-5, biased variance, no running statistics, the
    same ``weight``/``bias`` state-dict keys) written with reductions over H, W, so it keeps the input's
    memory layout: torch's runs batch norm on an NCHW view and copies channels-last activations there and back.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] * x.shape[-2] < 2:
            raise GandistillError(f"instance norm needs more than one pixel per channel, got {list(x.shape)}: "
                                  "use larger images or a smaller depth")
        # two passes (mean, then the mean square of the centred values): as exact as Welford's var_mean,
        # which is not vectorised on CPU and costs more than the rest together
        d = x - x.mean((2, 3), keepdim=True)
        scale = self.weight[:, None, None] * torch.rsqrt(d.square().mean((2, 3), keepdim=True) + self.eps)
        return torch.addcmul(self.bias[:, None, None], d, scale)  # scale: [N, C, 1, 1], per sample and channel


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "instance":
        return InstanceNorm(ch)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    return nn.Identity()


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1)
        self.norm = _norm(norm, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class _Up(nn.Module):
    """Nearest upsampling + 3×3 conv (no checkerboard), then concatenation with the skip."""

    def __init__(self, cin: int, cskip: int, cout: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = _norm(norm, cout)
        self.fuse = nn.Conv2d(cout + cskip, cout, 3, padding=1)
        self.norm2 = _norm(norm, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))))
        return F.relu(self.norm2(self.fuse(torch.cat([x, skip], 1))))


@register_model(kind="gpd-student", loader="gandistill.GPDStudent")
class UNetTranslator(PretrainedMixin, nn.Module):
    """U-Net: 3×3 stem, ``depth`` stride-2 encoder levels, mirrored decoder with skips, tanh output."""

    config_class = TranslatorConfig

    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.config = cfg
        ch = [min(cfg.channels * 2 ** i, cfg.max_channels) for i in range(cfg.depth + 1)]
        self.stem = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.down = nn.ModuleList(_Down(ch[i], ch[i + 1], cfg.norm) for i in range(cfg.depth))
        self.up = nn.ModuleList(_Up(ch[i + 1], ch[i], ch[i], cfg.norm) for i in reversed(range(cfg.depth)))
        self.head = nn.Conv2d(ch[0], cfg.out_channels, 3, padding=1)

    @property
    def multiple(self) -> int:
        return 2 ** self.config.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.config.in_channels, self.multiple)
        h = F.leaky_relu(self.stem(x), 0.2)
        skips = [h]
        for d in self.down:
            h = d(h)
            skips.append(h)
        skips.pop()
        for u in self.up:
            h = u(h, skips.pop())
        return torch.tanh(self.head(h))


class _ResBlock(nn.Module):
    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1, padding_mode="reflect"), _norm(norm, ch),
                                  nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1, padding_mode="reflect"), _norm(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_model(kind="gpd-student", loader="gandistill.GPDStudent")
class ResNetTranslator(PretrainedMixin, nn.Module):
    """Johnson-style: 7×7 stem, two stride-2 convs, ``depth`` residual blocks, two upsampling convs, tanh."""

    config_class = TranslatorConfig

    def __init__(self, cfg: TranslatorConfig):
        super().__init__()
        self.config = cfg
        c0 = cfg.channels
        c1, c2 = min(2 * c0, cfg.max_channels), min(4 * c0, cfg.max_channels)
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, c0, 7, padding=3, padding_mode="reflect"),
                                  _norm(cfg.norm, c0), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(c0, c1, 3, stride=2, padding=1), _norm(cfg.norm, c1), nn.ReLU(),
                                  nn.Conv2d(c1, c2, 3, stride=2, padding=1), _norm(cfg.norm, c2), nn.ReLU())
        self.blocks = nn.Sequential(*[_ResBlock(c2, cfg.norm) for _ in range(cfg.depth)])
        self.up = nn.Sequential(nn.Upsample(scale_factor=2.0), nn.Conv2d(c2, c1, 3, padding=1), _norm(cfg.norm, c1),
                                nn.ReLU(), nn.Upsample(scale_factor=2.0), nn.Conv2d(c1, c0, 3, padding=1),
                                _norm(cfg.norm, c0), nn.ReLU())
        self.head = nn.Conv2d(c0, cfg.out_channels, 7, padding=3, padding_mode="reflect")

    multiple = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.config.in_channels, self.multiple)
        return torch.tanh(self.head(self.up(self.blocks(self.down(self.stem(x))))))


@register_model(kind="discriminator")
class PatchDiscriminator(PretrainedMixin, nn.Module):
    """pix2pix PatchGAN on (condition, image) concatenated along channels; one logit per patch."""

    config_class = PatchGANConfig

    def __init__(self, cfg: PatchGANConfig):
        super().__init__()
        self.config = cfg
        layers: list[nn.Module] = [nn.Conv2d(cfg.in_channels, cfg.channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        ch = cfg.channels
        for i in range(1, cfg.layers):
            nxt = min(ch * 2, 8 * cfg.channels)
            layers += [nn.Conv2d(ch, nxt, 4, stride=2, padding=1), _norm(cfg.norm, nxt), nn.LeakyReLU(0.2)]
            ch = nxt
        layers += [nn.Conv2d(ch, ch, 3, padding=1), _norm(cfg.norm, ch), nn.LeakyReLU(0.2),
                   nn.Conv2d(ch, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise GandistillError(f"PatchGAN expects [N, {self.config.in_channels}, H, W], got {list(x.shape)}")
        return self.net(x)


#: the `--arch` choice of `gpd distill` → the student class it builds (loading goes by the registry)
TRANSLATORS = {"unet": UNetTranslator, "resnet": ResNetTranslator}


def _check_input(x: torch.Tensor, channels: int, multiple: int) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise GandistillError(f"the translator expects [N, {channels}, H, W] images, got {list(x.shape)}")
    if x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise GandistillError(f"image size {x.shape[-2]}×{x.shape[-1]} must be divisible by {multiple} "
                              "(translate() resizes to the training resolution for you)")


def load_translator(directory) -> nn.Module:
    """Load a GPD student from its model directory, whatever its architecture."""
    return load_model(directory, ("gpd-student",), "a GPD student", "load_translator")
