"""Architecture hyper-parameters of the StyleGAN2 teacher (shared by generator and discriminator)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..options import field


@dataclass
class StyleGAN2Config:
    resolution: int = field(32, help="image resolution (power of two, 16…1024)")
    img_channels: int = field(3, help="3 for RGB, 1 for grey")
    z_dim: int = field(128, help="latent z size")
    w_dim: int = field(128, help="intermediate latent w size")
    mapping_layers: int = field(4, help="layers in the mapping network")
    channel_base: int = field(4096, help="channels at resolution r are min(channel_base // r, channel_max)")
    channel_max: int = field(128, help="largest channel count")
    channels: dict | None = field(None, help='explicit channels per resolution as JSON, e.g. '
                                             '\'{"4": 128, "8": 128, "16": 64}\' (overrides base/max)')
    mapping_lr_mul: float = field(0.01, help="learning-rate multiplier of the mapping network")
    mbstd_group: int = field(4, help="minibatch-stddev group size in the discriminator")
    blur_kernel: list[int] = field([1, 3, 3, 1], help="comma-separated FIR taps for up/down-sampling")
    d_arch: Literal["stylegan2", "projected"] = field(
        "stylegan2", help="discriminator: stylegan2 (residual, trained from scratch) or projected (frozen ImageNet "
                          "EfficientNet-Lite0 features + small trained heads; converges in far fewer images)")
    d_proj_weight: float = field(0.5, help="projected D: share of the projected heads in the loss; the StyleGAN2 "
                                           "pixel discriminator beside them has the rest")
    d_proj_blur: float = field(0.0, help="projected D: Gaussian blur σ (pixels of the image) before the feature "
                                         "network, so its gradient carries no pixel-level detail (0 = off)")
    d_feature_res: int | None = field(None, help="projected D: images are resized to this size before the feature "
                                                 "network (default: 4×resolution, 64…224)")

    def __post_init__(self) -> None:
        log2 = math.log2(self.resolution) if self.resolution > 0 else -1
        if log2 != int(log2) or not 8 <= self.resolution <= 1024:
            raise ValueError(f"resolution must be a power of two in 8…1024, got {self.resolution}")
        if self.img_channels not in (1, 3):
            raise ValueError(f"img_channels must be 1 or 3, got {self.img_channels}")
        if self.channels is not None:
            self.channels = {int(k): int(v) for k, v in self.channels.items()}
            missing = [r for r in self.resolutions if r not in self.channels]
            if missing:
                raise ValueError(f"channels table lacks resolutions {missing}")
        if not 0 <= self.d_proj_blur <= 8:
            raise ValueError(f"d_proj_blur must be in 0…8, got {self.d_proj_blur}")
        if not 0 < self.d_proj_weight <= 1:
            raise ValueError(f"d_proj_weight must be in (0, 1], got {self.d_proj_weight}")
        if self.d_feature_res is not None and not 32 <= self.d_feature_res <= 512:
            raise ValueError(f"d_feature_res must be in 32…512, got {self.d_feature_res}")
        zero = [r for r in self.resolutions if self.ch(r) < 1]
        if zero:
            raise ValueError(f"no channels left at resolutions {zero}: raise channel_base "
                             f"(now {self.channel_base}) to at least {self.resolution}")

    @property
    def projected_feature_res(self) -> int:
        return self.d_feature_res or min(224, max(64, 4 * self.resolution))

    @property
    def log2_res(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def resolutions(self) -> list[int]:
        """4, 8, …, resolution."""
        return [2 ** i for i in range(2, self.log2_res + 1)]

    @property
    def num_ws(self) -> int:
        return 2 * self.log2_res - 2

    def ch(self, res: int) -> int:
        if self.channels is not None:
            return self.channels[res]
        return min(self.channel_base // res, self.channel_max)
