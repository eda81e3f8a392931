"""StyleGAN2 building blocks with equalized learning rate (weights stored unit-variance, scaled at run time)."""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import SQRT2, conv1x1, fir_filter, is_channels_last, make_fir_kernel, upsample2x

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
        gain = SQRT2 if self.activate else 1.0  # lrelu gain folded into weight and bias
        bias = self.bias * (self.lr_mul * gain) if self.bias is not None else None
        weight, c = self.weight, self.scale * gain
        if x.numel() < weight.numel():  # scale whichever is smaller: a batch of 8 w's, not a 512² weight
            x = x * c
        else:
            weight = weight * c
        x = F.linear(x, weight, bias)
        return F.leaky_relu(x, 0.2, inplace=True) if self.activate else x


class EqualConv2d(nn.Module):
    """Conv layer with equalized lr; optional FIR blur + stride-2 downsampling and fused bias+lrelu.

    ``out_gain`` scales the output (the discriminator's residual 1/√2). The lrelu gain √2 and
    ``out_gain`` are folded into the weight and bias (leaky ReLU is positively homogeneous) and the
    bias is added inside the conv, so the activation is one elementwise pass instead of three.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activate: bool = True, down: bool = False, blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.activate = activate
        self.out_gain = 1.0
        self.kernel_size = kernel_size
        self.down = down
        self.padding = 0 if down else kernel_size // 2
        if down:
            self.register_buffer("blur", make_fir_kernel(blur_kernel), persistent=False)
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            self.blur_pad = ((p + 1) // 2, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = self.out_gain * (SQRT2 if self.activate else 1.0)
        bias = self.bias * gain if self.bias is not None else None
        weight = self.weight * (self.scale * gain)
        if self.kernel_size == 1:
            if self.down:  # a 1×1 conv keeps every other pixel: filter only those (¼ of the blur's work)
                x = fir_filter(x, self.blur, self.blur_pad, stride=2)
            x = conv1x1(x, weight.flatten(1), bias)
        else:
            if self.down:
                x = fir_filter(x, self.blur, self.blur_pad)
            x = F.conv2d(x, weight, bias, stride=2 if self.down else 1, padding=self.padding)
        if not self.activate:
            return x
        # in place on the conv's fresh output (the conv keeps only its inputs for the backward pass); not on
        # the 1×1 matmul's permuted view, where autograd would copy the whole gradient back (CopySlices)
        return F.leaky_relu(x, 0.2, inplace=self.kernel_size != 1)


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
        self.kernel_size = kernel_size
        self.up = up
        self.padding = kernel_size // 2
        if up:
            # Gain 4 compensates for the zeros inserted by the stride-2 transposed conv.
            self.register_buffer("blur", make_fir_kernel(blur_kernel, gain=4.0), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None,
                noise: torch.Tensor | None = None, gain: float = 1.0) -> torch.Tensor:
        """conv(x · s) · d · gain + bias + noise (``bias`` per channel [C], ``noise`` [N or 1, 1, H, W]).

        The output keeps x's memory format: the per-channel bias goes in first (as an addcmul with the
        demodulation, or inside the conv) and the one-channel noise is added in place, so no full-size
        [1, C, H, W] tensor is built (it would turn a channels-last result back into NCHW).
        """
        s = self.affine(w)
        weight = self.weight * self.scale
        if self.kernel_size == 1 and not self.up:
            x = self._forward_1x1(x, s, weight.flatten(1), bias, gain)
        else:
            x = x * s.view(s.shape[0], -1, 1, 1).to(x.dtype)
            if self.up:
                x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
                x = fir_filter(x, self.blur, (1, 1))
            else:
                x = F.conv2d(x, weight * gain if not self.demodulate else weight, padding=self.padding)
            b = bias.to(x.dtype).view(1, -1, 1, 1) if bias is not None else None
            if self.demodulate:
                d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8) * gain
                d = d.view(d.shape[0], -1, 1, 1).to(x.dtype)
                # without autograd the conv's fresh output is overwritten: a full-size allocation costs more
                # than the arithmetic (its pages are faulted in anew each time; 67 MB tensors at 256 px)
                out = {} if torch.is_grad_enabled() else {"out": x}
                x = torch.mul(x, d, **out) if b is None else torch.addcmul(b, x, d, **out)
            else:
                if self.up and gain != 1.0:
                    x = x * gain
                if b is not None:
                    x = x + b
        # in place on a fresh tensor: no op above keeps its output for the backward pass
        return x if noise is None else x.add_(noise.to(x.dtype))

    def _forward_1x1(self, x: torch.Tensor, s: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     gain: float) -> torch.Tensor:
        """1×1 modulated conv as one batched matmul with per-sample [out, in] weights: the style scales
        the small weight instead of the image (no full-size x · s pass); layout is kept."""
        n, c, h, wd = x.shape
        wn = weight[None] * s[:, None, :]  # [N, out, in]
        if self.demodulate:
            wn = wn * torch.rsqrt(wn.square().sum(dim=2, keepdim=True) + 1e-8)
        wn = (wn * gain).to(x.dtype)
        o = wn.shape[1]
        if is_channels_last(x):  # [N, H·W, C] @ [N, C, out] → channels-last [N, out, H, W]
            xm = x.permute(0, 2, 3, 1).reshape(n, h * wd, c)
            y = torch.bmm(xm, wn.transpose(1, 2)) if bias is None else \
                torch.baddbmm(bias.to(x.dtype).view(1, 1, o), xm, wn.transpose(1, 2))
            return y.view(n, h, wd, o).permute(0, 3, 1, 2)
        xm = x.reshape(n, c, h * wd)  # [N, out, in] @ [N, C, H·W]
        y = torch.bmm(wn, xm) if bias is None else torch.baddbmm(bias.to(x.dtype).view(1, o, 1), wn, xm)
        return y.view(n, o, h, wd)


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
        # lrelu(conv·d + noise·strength + bias)·√2 = lrelu(conv·(√2 d) + √2 (noise·strength + bias)):
        # the gain goes into the small tensors; demodulation and bias are one addcmul, noise one in-place add.
        if noise_mode == "random":
            r = self.resolution  # the conv's output size
            noise = torch.randn(x.shape[0], 1, r, r, device=x.device, dtype=x.dtype) * (self.noise_strength * SQRT2)
        elif noise_mode == "const":
            noise = self.noise_const * (self.noise_strength * SQRT2)
        elif noise_mode == "none":
            noise = None
        else:
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        return F.leaky_relu(self.conv(x, w, self.bias * SQRT2, noise, gain=SQRT2), 0.2, inplace=True)


class ToRGB(nn.Module):
    """1×1 modulated conv without demodulation; adds the 2× upsampled image of the previous block."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int, blur_kernel: tuple[int, ...] = (1, 3, 3, 1)):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, img_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.register_buffer("up_kernel", make_fir_kernel(blur_kernel, gain=4.0), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        y = self.conv(x, w, self.bias)  # bias added inside the batched matmul
        if skip is not None:
            y = y + upsample2x(skip, self.up_kernel)
        return y
