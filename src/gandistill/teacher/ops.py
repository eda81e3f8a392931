"""Low-level StyleGAN2 operations in pure PyTorch: FIR resampling (bias + leaky ReLU is folded into the
layers, see layers.py).

The arithmetic matches rosinality/NVlabs StyleGAN2 (see ../../../docs/teacher.md) so that imported
weights reproduce the original outputs: [1,3,3,1] FIR kernels, gain sqrt(2) after leaky ReLU 0.2.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def make_fir_kernel(taps: list[int] | tuple[int, ...], gain: float = 1.0) -> torch.Tensor:
    """Separable 2-D FIR kernel from 1-D taps, normalised to sum to ``gain``."""
    k = torch.tensor(taps, dtype=torch.float32)
    k = torch.outer(k, k)
    return k / k.sum() * gain


def _depthwise(x: torch.Tensor, kernel: torch.Tensor, padding: int, stride: int, transpose: bool = False,
               output_padding: int = 0) -> torch.Tensor:
    """Every channel filtered by ``kernel`` (already flipped): a grouped conv, or its transpose (the adjoint)."""
    n, c, h, w = x.shape
    k = kernel.to(x.dtype)[None, None]
    if x.dtype == torch.float64:
        # Same sums: float64 grouped convs run one slow conv per channel on CPU (~20× slower),
        # so filter every (sample, channel) plane as a batch of single-channel images instead.
        x = x.reshape(n * c, 1, h, w)
        y = F.conv_transpose2d(x, k, stride=stride, padding=padding, output_padding=output_padding) if transpose \
            else F.conv2d(x, k, stride=stride, padding=padding)
        return y.reshape(n, c, *y.shape[2:])
    k = k.expand(c, 1, *kernel.shape)
    if transpose:
        return F.conv_transpose2d(x, k, stride=stride, padding=padding, output_padding=output_padding, groups=c)
    return F.conv2d(x, k, stride=stride, padding=padding, groups=c)


class _FIR(torch.autograd.Function):
    """Depthwise FIR filter whose backward is the transposed filter, written with autograd ops.

    A double backward (R1, path length) then runs as one more grouped conv; torch's own double backward
    of a grouped conv computes a weight gradient group by group (64 small convs per layer) even for a
    constant kernel like this one.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: torch.Tensor, padding: int, stride: int) -> torch.Tensor:
        ctx.save_for_backward(kernel)
        ctx.conf = (x.shape[-1], padding, stride)
        return _depthwise(x, kernel, padding, stride)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (kernel,) = ctx.saved_tensors
        size, padding, stride = ctx.conf
        k = kernel.shape[-1]
        if stride == 1 and kernel.shape[-2] == k and padding <= k - 1:
            # the adjoint of a stride-1 correlation is the correlation with the flipped kernel, padded k-1-p:
            # the same sums as the transposed conv, but oneDNN's depthwise conv is ~1.5× faster than its transpose
            return _depthwise(grad, kernel.flip([0, 1]), k - 1 - padding, 1), None, None, None
        extra = size - ((grad.shape[-1] - 1) * stride - 2 * padding + k)  # rows the stride dropped
        return _depthwise(grad, kernel, padding, stride, transpose=True, output_padding=extra), None, None, None


def fir_filter(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int], stride: int = 1) -> torch.Tensor:
    """Pad (pad0 before, pad1 after, both axes) then filter with ``kernel``, keeping every ``stride``-th output:
    upfirdn2d with up=1, down=stride."""
    # upfirdn2d is a true convolution; flipping keeps asymmetric kernels right (ours are symmetric).
    kernel = kernel.flip([0, 1])
    if pad[0] != pad[1]:
        x, pad = F.pad(x, [pad[0], pad[1], pad[0], pad[1]]), (0, 0)
    # symmetric padding is done by the conv itself: no padded copy, and no copy back in the backward pass
    return _FIR.apply(x, kernel, pad[0], stride)


def conv1x1(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """1×1 convolution by a [out, in] matrix, as a matmul over the channel axis.

    A channels-last image is a [N·H·W, C] matrix already, so this is one GEMM whatever the thread count
    (a 1×1 ``conv2d`` takes a slow, layout-copying path on CPU for small batches on one thread); the
    result is channels-last too. NCHW inputs keep the ordinary conv.
    """
    if is_channels_last(x):
        return F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
    return F.conv2d(x, weight[:, :, None, None], bias)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether a 4-D tensor is laid out channels-last (and not also plain contiguous, e.g. C = 1)."""
    return x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def upsample2x(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Zero-insertion ×2 upsampling followed by the FIR kernel (sum 4): rosinality ``Upsample``.

    Equivalent to upfirdn2d(up=2, pad=(2, 1)); written as a strided transposed convolution, which
    avoids materialising the zero-stuffed image.
    """
    c = x.shape[1]
    w = kernel.to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return F.conv_transpose2d(x, w, stride=2, padding=1, groups=c)
