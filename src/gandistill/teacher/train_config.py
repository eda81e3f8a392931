"""Options of ``gandistill teacher train`` (dumped with the model config to ``<out>/config.json``)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..options import field, field_like
from ..train.run_options import GANOptions, RunOptions
from .config import StyleGAN2Config


@dataclass
class TeacherTrainConfig(RunOptions, GANOptions):
    """The engine's options (:class:`RunOptions`: seed, device, cadence, resume) plus the teacher's own."""

    out: str = field("runs/teacher", help="run directory (config, checkpoints, samples, logs, model)")
    data: str = field("toyfaces", help="image folder, or 'toyfaces[:photo|sketch]' for the built-in data")
    data_n: int = field(2000, help="number of toyfaces samples to generate (built-in data only)")
    data_seed: int = field(0, help="seed of the built-in data")
    max_images: int | None = field(None, help="use at most this many images of the folder (limited-data runs; "
                                              "default: all)")
    xflip: bool = field(False, help="double the dataset with mirrored copies")
    steps: int = field(2000, help="optimisation steps (each sees `batch` real images)")
    batch: int = field(16, help="total batch size over all processes")
    batch_gpu: int | None = field(None, help="per-process micro-batch; gradient accumulation makes up "
                                             "the rest (default: --batch / processes)")
    pl_weight: float = field(0.0, help="path-length regularisation weight (0 disables; 2 in StyleGAN2)")
    pl_interval: int = field(4, help="lazy path-length regularisation interval")
    style_mixing: float = field(0.9, help="probability of style-mixing regularisation")
    ema_kimg: float | None = field(None, help="EMA half-life in thousands of images; default batch·10/32")
    ema_rampup: float | None = field(0.05, help="EMA ramp-up as a fraction of the images seen so far; "
                                                "none disables it")
    d_proj_warmup: float = field(0.0, help="projected D: train with the StyleGAN2 pixel D alone for the first N "
                                           "thousand images, then add the projected heads (Vision-aided GAN's "
                                           "warm-up; 0 = heads from the start)")
    d_proj_blur_init: float = field(0.0, help="projected D: start the blur before the feature network at this σ "
                                              "and fade it linearly to --d-proj-blur over --d-proj-blur-fade "
                                              "thousand images (StyleGAN-XL's blur_init_sigma; 0 = no fade)")
    d_proj_blur_fade: float = field(200.0, help="projected D: thousands of images over which the initial blur fades")
    ada_target: float = field(0.6, help="ADA target for E[sign(D(real))]")
    ada_interval: int = field(4, help="ADA: adjust p every N steps")
    ada_kimg: float = field(100.0, help="ADA: images (in thousands) for p to move by 1")
    channels_last: bool = field(True, help="channels-last memory format (1.2–1.5× faster on CPU, see benchmarks)")
    compile: bool = field(False, help="torch.compile the networks (slow start, faster steps)")
    # the engine options whose defaults differ for the (longer) teacher runs
    grid_every: int = field_like(RunOptions, "grid_every", 250)
    snap_every: int = field_like(RunOptions, "snap_every", 500)
    init_from: str | None = field(None, help="model directory to copy weights from (transfer; not a resume; "
                                             "default: random initialisation)")
    model: StyleGAN2Config = dataclasses.field(default_factory=StyleGAN2Config, metadata={"cli": False})

    def __post_init__(self) -> None:
        if self.batch <= 0 or self.steps < 0:
            raise ValueError("batch must be positive and steps non-negative")
        if self.d_proj_warmup < 0:
            raise ValueError(f"--d-proj-warmup must be ≥ 0 (thousands of images), got {self.d_proj_warmup}")
        if not 0 <= self.d_proj_blur_init <= 8:
            raise ValueError(f"--d-proj-blur-init must be in 0…8 (pixels), got {self.d_proj_blur_init}")
        if self.d_proj_blur_fade <= 0:
            raise ValueError(f"--d-proj-blur-fade must be > 0 (thousands of images), got {self.d_proj_blur_fade}")
