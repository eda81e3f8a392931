"""Architecture configs of the KDIT students (saved in their model directories' config.json)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..options import field
from ..teacher.config import StyleGAN2Config


@dataclass
class I2IConfig:
    input: Literal["image", "seg"] = field("image", help="E_S input: an RGB image or a segmentation map")
    num_classes: int = field(8, help="segmentation classes (input=seg)")
    adaptor_res: list[int] | None = field(None, help="resolutions with E_S→G_S feature adaptors (default: all)")
    head_hidden: int | None = field(None, help="hidden width of the ws heads (default 2·w_dim)")
    k: int | None = field(None, help="default crossover at inference (default num_ws/2)")
    teacher: StyleGAN2Config = dataclasses.field(default_factory=StyleGAN2Config, metadata={"cli": False})

    def __post_init__(self) -> None:
        if self.input not in ("image", "seg"):
            raise ValueError(f"input must be 'image' or 'seg', got {self.input!r}")
        if self.input == "seg" and not 2 <= self.num_classes <= 256:
            raise ValueError(f"num_classes must be in 2..256, got {self.num_classes}")


@dataclass
class X2IConfig:
    condition: Literal["image", "text", "audio"] = field("image", help="what f_X encodes into c")
    z_dim: int = field(16, help="noise z_s size of the conditional mapping")
    hidden: int | None = field(None, help="hidden width of the conditional mapping / heads (default 2·w_dim)")
    text_dim: int = field(384, help="sentence-embedding size (MiniLM: 384)")
    sample_rate: int = field(16000, help="audio sample rate (Hz)")
    n_fft: int = field(512, help="STFT size of the log-mel front end")
    hop: int = field(160, help="STFT hop")
    n_mels: int = field(40, help="mel bands")
    teacher: StyleGAN2Config = dataclasses.field(default_factory=StyleGAN2Config, metadata={"cli": False})

    def __post_init__(self) -> None:
        if self.condition not in ("image", "text", "audio"):
            raise ValueError(f"condition must be image, text or audio, got {self.condition!r}")
