"""StyleGAN2 building blocks with equalized learning rate (weights stored unit-variance, scaled at run time)."""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import bias_act, fir_filter, make_fir_kernel, upsample2x

NoiseMode = Literal["random", "const", "none"]


class EqualLinear(nn.Module):
    """Linear layer; weight stored (out, in) and used as weight * lr_mul / sqrt(in), bias as bias * lr_mul."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.activate:
            return bias_act(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias)


class EqualConv2d(nn.Module):
    """Conv layer with equalized lr; optional FIR blur + stride-2 downsampling and fused bias+lrelu."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activate: bool = True, down: bool = False, blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.activate = activate
        self.down = down
        self.padding = 0 if down else kernel_size // 2
        if down:
            self.register_buffer("blur", make_fir_kernel(blur_kernel), persistent=False)
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            self.blur_pad = ((p + 1) // 2, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = fir_filter(x, self.blur, self.blur_pad)
        x = F.conv2d(x, self.weight * self.scale, stride=2 if self.down else 1, padding=self.padding)
        if self.activate:
            return bias_act(x, self.bias)
        if self.bias is not None:
            x = x + self.bias.view(1, -1, 1, 1)
        return x


class ModulatedConv2d(nn.Module):
    """Style-modulated (and optionally demodulated) conv.

    Computed as conv(x * s) * d with one shared weight, which equals the per-sample kernel
    formulation of the paper but batches as an ordinary conv (much faster than grouped convs).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, up: bool = False, blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate = demodulate
        self.up = up
        self.padding = kernel_size // 2
        if up:
            # Gain 4 compensates for the zeros inserted by the stride-2 transposed conv.
            self.register_buffer("blur", make_fir_kernel(blur_kernel, gain=4.0), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)
        weight = self.weight * self.scale
        x = x * s.view(s.shape[0], -1, 1, 1).to(x.dtype)
        if self.up:
            x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
            x = fir_filter(x, self.blur, (1, 1))
        else:
            x = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)
            x = x * d.view(d.shape[0], -1, 1, 1).to(x.dtype)
        return x


class StyledConv(nn.Module):
    """Modulated conv, then per-pixel noise (one map for all channels), then bias + leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up, blur_kernel=blur_kernel)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.resolution = resolution

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        elif noise_mode != "none":
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        return bias_act(x, self.bias)


class ToRGB(nn.Module):
    """1×1 modulated conv without demodulation; adds the 2× upsampled image of the previous block."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int, blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, img_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.register_buffer("up_kernel", make_fir_kernel(blur_kernel, gain=4.0), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        y = self.conv(x, w) + self.bias.view(1, -1, 1, 1)
        if skip is not None:
            y = y + upsample2x(skip, self.up_kernel)
        return y
