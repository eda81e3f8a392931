"""VGG16 and AlexNet convolutional trunks for LPIPS, in pure PyTorch (no torchvision).

Module layout copies torchvision's ``features`` Sequential index for index, so torchvision's
ImageNet state dicts (``features.0.weight``, ...) load directly. ``forward`` returns the five ReLU
activations LPIPS compares (vgg: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; alex: relu1..relu5).
"""
from __future__ import annotations

import torch
from torch import nn

# torchvision's cfg "D": channel counts, "M" = 2x2 max-pool.
_VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]


class _Trunk(nn.Module):
    channels: tuple[int, ...]
    taps: tuple[int, ...]  # indices in ``features`` whose outputs LPIPS uses
    min_size: int  # smallest input side for which every tapped layer still has >= 1 pixel

    def __init__(self, layers: list[nn.Module]):
        super().__init__()
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs


class VGG16Trunk(_Trunk):
    channels = (64, 128, 256, 512, 512)
    taps = (3, 8, 15, 22, 29)
    min_size = 16

    def __init__(self):
        layers: list[nn.Module] = []
        in_ch = 3
        for v in _VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_ch, int(v), 3, padding=1), nn.ReLU()]
                in_ch = int(v)
        super().__init__(layers)  # ends at relu5_3 (index 29); the last pool is unused by LPIPS


class AlexNetTrunk(_Trunk):
    channels = (64, 192, 384, 256, 256)
    taps = (1, 4, 7, 9, 11)
    min_size = 31

    def __init__(self):
        super().__init__([
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        ])


TRUNKS = {"vgg": VGG16Trunk, "alex": AlexNetTrunk}
# File names torchvision uses in $TORCH_HOME/hub/checkpoints for the same ImageNet weights.
TORCHVISION_FILES = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth"}
