"""The teacher's fast paths compute what the plain formulations compute: FIR filtering with its hand-written
backward (first and second derivatives), 1×1 convs as matmuls, and channels-last layers that stay
channels-last through training passes."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gandistill.teacher import Discriminator, Generator, StyleGAN2Config
from gandistill.teacher.ops import conv1x1, fir_filter, is_channels_last, make_fir_kernel

CL = torch.channels_last


def reference_fir(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int], stride: int) -> torch.Tensor:
    """upfirdn2d(up=1, down=stride) spelled out: explicit padding, grouped conv, torch's own autograd."""
    c = x.shape[1]
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = kernel.flip([0, 1]).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, k, stride=stride, groups=c)


CASES = [((2, 2), 1), ((1, 1), 2), ((1, 1), 1), ((2, 1), 1), ((2, 1), 2)]


@pytest.mark.parametrize("pad,stride", CASES)
@pytest.mark.parametrize("taps", [(1, 3, 3, 1), (1, 2, 4, 3)])  # an asymmetric kernel catches a missing flip
def test_fir_filter_gradients_and_double_backward_in_float64(pad, stride, taps):
    kernel = make_fir_kernel(taps).double()
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fir_filter(t, kernel, pad, stride), (x,))
    assert torch.autograd.gradgradcheck(lambda t: fir_filter(t, kernel, pad, stride), (x,))


@pytest.mark.parametrize("pad,stride", CASES)
@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
@pytest.mark.parametrize("taps", [(1, 3, 3, 1), (1, 2, 4, 3)])
def test_fir_filter_matches_grouped_conv_with_second_derivatives(pad, stride, layout, taps):
    """float32 takes the grouped-conv path: values, gradient and an R1-style double backward agree."""
    kernel = make_fir_kernel(taps)
    torch.manual_seed(0)
    x0 = torch.randn(2, 8, 16, 16).contiguous(memory_format=layout)
    w0 = torch.randn(4, 8, 3, 3)  # a trained conv after the filter, as in the D
    results = []
    for fn in (fir_filter, reference_fir):
        x = x0.clone().requires_grad_(True)
        w = w0.clone().requires_grad_(True)
        y = F.conv2d(fn(x, kernel, pad, stride), w)
        (g,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
        g.square().sum().backward()
        results.append((y.detach(), g.detach(), w.grad))
    for a, b in zip(*results):  # float32 sums in another order: errors relative to each tensor's scale
        assert torch.allclose(a, b, atol=1e-5 * float(b.abs().max()), rtol=1e-4)


def test_conv1x1_matches_conv2d_in_both_layouts_with_gradients():
    w = torch.randn(5, 7, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    x0 = torch.randn(3, 7, 6, 6)
    outs = []
    for x_in, fn in ((x0.contiguous(memory_format=CL), conv1x1), (x0, conv1x1),
                     (x0, lambda t, w_, b_: F.conv2d(t, w_[:, :, None, None], b_))):
        x = x_in.clone().requires_grad_(True)
        y = fn(x, w, b)
        gx, gw, gb = torch.autograd.grad((y * torch.arange(y.numel()).view_as(y).sin()).sum(), (x, w, b))
        outs.append((y.detach(), gx, gw, gb))
    assert is_channels_last(outs[0][0])
    for other in outs[1:]:
        for a, b_ in zip(outs[0], other):
            assert torch.allclose(a, b_, atol=1e-5)


def test_training_passes_stay_channels_last():
    """No layer hands an NCHW activation to the next (that costs a full-size copy per conv, forward and back)."""
    cfg = StyleGAN2Config(resolution=16, z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=16)
    G = Generator(cfg).to(memory_format=CL)
    D = Discriminator(cfg).to(memory_format=CL)
    seen = []

    def record(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.ndim == 4 and output.shape[1] > 3:
            seen.append((type(module).__name__, is_channels_last(output)))

    for m in list(G.modules()) + list(D.modules()):
        if type(m).__name__ in ("StyledConv", "EqualConv2d"):
            m.register_forward_hook(record)
    for noise_mode in ("random", "const", "none"):
        D(G(torch.randn(4, 16), noise_mode=noise_mode)).sum().backward()
    assert seen and all(cl for _, cl in seen), [name for name, cl in seen if not cl]
