"""Configs of KDIT: the students' architectures (saved in their model directories' config.json) and the
training options both stages (``kdit distill|finetune``) share."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..options import field, field_like
from ..teacher.config import StyleGAN2Config
from ..utils.engine import RunOptions


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


@dataclass
class KDITTrainOptions(RunOptions):
    """The optimiser, loss-weight and cadence options ``kdit distill`` and ``kdit finetune`` share."""

    lr: float = field(0.002, help="student learning rate (Adam)")
    lr_d: float = field(0.002, help="discriminator learning rate")
    beta2: float = field(0.99, help="Adam beta2 (beta1 = 0)")
    w_l1: float = field(1.0, help="image L1 weight")
    w_perceptual: float = field(1.0, help="perceptual (frozen D_T trunk) weight")
    w_adv: float = field(0.05, help="adversarial weight (0 disables the discriminator)")
    r1_gamma: float = field(0.1, help="R1 weight")
    r1_interval: int = field(16, help="lazy R1 interval")
    noise_mode: Literal["const", "random", "none"] = field("const", help="synthesis noise of teacher and student")
    grid_every: int = field_like(RunOptions, "grid_every", 250)
    snap_every: int = field_like(RunOptions, "snap_every", 500)
