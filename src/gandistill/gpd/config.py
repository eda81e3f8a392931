"""Options of the GPD stages (``gandistill gpd adapt|anchors|pairs|distill``), one dataclass each.

Every run directory gets its fully resolved options in ``config.json``; ``--resume`` keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..options import DeviceOption, field, field_like
from ..train.run_options import GANOptions, ProgressOption, RunOptions
from .networks import PatchGANConfig, TranslatorShape


@dataclass
class AdaptConfig(RunOptions, GANOptions):
    out: str = field("runs/gpd-adapt", help="run directory (config, checkpoints, samples, logs, model)")
    teacher: str = field("", help="source teacher model directory (G_T, D_T); required")
    target: str = field("", help="folder with the few (≤10) target-domain images, or a paired folder (A/ sources, "
                        "B/ targets with matching stems: adds the paired term, --w-pair); required")
    max_targets: int = field(10, help="GPD is few-shot: more targets than this gives a warning")
    steps: int = field(300, help="optimisation steps")
    batch: int = field(4, help="latents and target images per step, over all processes (≥2: CDC compares the "
                       "latents of a batch)")
    batch_gpu: int | None = field(None, help="latents per process and round (default: batch / processes; ≥ 2, "
                                  "CDC compares them); gradient accumulation makes up the rest")
    lr_g: float = field_like(GANOptions, "lr_g", 0.002)
    lr_d: float = field_like(GANOptions, "lr_d", 0.002)
    r1_interval: int = field_like(GANOptions, "r1_interval", 4)
    overwrite: bool = field_like(RunOptions, "overwrite", help="start afresh in an --out that holds an earlier "
                                 "run, deleting its checkpoints, log, samples and model, and the anchors.safetensors "
                                 "(.json, .png) that gpd anchors wrote there from that model (default: refuse)")
    w_adv: float = field(1.0, help="weight of the generator's adversarial term (non-saturating loss of the "
                         "adaptation discriminator)")
    w_cdc: float = field(1000.0, help="cross-domain distance consistency weight (0 = plain fine-tuning); the "
                         "loss is reduced like the CDC authors' code, whose weight is 1000", formerly="cdc_weight")
    w_pair: float = field(1.0, help="weight of the paired term, used when --target holds pairs (A/ sources, B/ "
                          "targets with matching stems): each source is projected into G_T and G_target learns to "
                          "render that latent as its real target (pixel L1 + feature distance)", absent=0.0)
    self_pairs: bool = field(False, help="target-only data: pair each target with itself, i.e. project the target "
                             "into G_T and train G_target to render that latent as the target (JoJoGAN's recipe; "
                             "--w-pair weighs it)")
    pair_proj_steps: int = field(200, help="projection steps for the sources of a paired --target (or the targets, "
                                 "--self-pairs)")
    cdc_layers: list[int] | None = field(None, help="comma-separated synthesis blocks whose activations CDC compares "
                                         "(default: every block but the first and the last, as CDC)")
    cdc_anchor_every: int = field(4, help="anchor-region discrimination (CDC): every N-th step draws latents near "
                                  "fixed anchor points and uses the image-level D, other steps free latents and a "
                                  "patch-level D; 0 = image-level D always")
    cdc_anchors: int = field(0, help="number of anchor points (0 = one per target image, as CDC)")
    cdc_anchor_sigma: float = field(0.1, help="anchor-region latents: z = anchor + σ·ε in Z")
    patch_res: int = field(0, help="D feature map (pixels) under the 1×1 patch head (0 = R/8, at least 8)")
    freeze_g: list[int] = field([], help="comma-separated synthesis blocks kept frozen (0 = the 4×4 block)")
    freeze_d: int = field(0, help="freeze D's fromRGB and first N-1 blocks (FreezeD); 0 = none")
    freeze: Literal["none", "coarse", "freezed", "both"] = field(
        "none", help="freezing preset, added to --freeze-g/--freeze-d: coarse = synthesis blocks up to 8×8 "
        "(pose and layout stay the teacher's); freezed = D's first half (fromRGB + the high-resolution blocks); "
        "both")
    freeze_noise: bool = field(True, help="keep the generator's per-layer noise strengths at the teacher's values: "
                               "trained, they let G_target draw the target's texture by amplifying its fixed noise "
                               "maps (speckle that follows no latent; docs/gpd.md)", absent=False)
    measure_n: int = field(32, help="fixed latents on which diversity, correspondence and memorisation are "
                           "measured at every grid step (stats.jsonl: adapt/…)")
    xflip: bool = field(True, help="also use mirrored targets")

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError("steps must be ≥ 0")
        if self.w_cdc < 0 or self.w_adv < 0 or self.w_pair < 0:
            raise ValueError("w_cdc, w_adv and w_pair must be ≥ 0")
        if self.pair_proj_steps < 1:
            raise ValueError("pair_proj_steps must be ≥ 1")
        if self.w_cdc == 0 and self.w_adv == 0:
            raise ValueError("w_adv and w_cdc are both 0: the generator would have nothing to learn from")
        if self.batch < 2:
            raise ValueError("batch must be ≥ 2 (CDC compares the pairwise similarities of a batch)")
        if self.cdc_anchor_every < 0 or self.cdc_anchors < 0 or self.cdc_anchor_sigma <= 0:
            raise ValueError("cdc_anchor_every and cdc_anchors must be ≥ 0, cdc_anchor_sigma > 0")
        if self.measure_n < 2:
            raise ValueError("measure_n must be ≥ 2 (diversity compares pairs of samples)")


@dataclass
class ProjectConfig(ProgressOption):
    steps: int = field(200, help="optimisation steps per batch of images")
    lr: float = field(0.2, help="Adam learning rate for W+ (units of std(W))")
    loss: Literal["auto", "lpips", "dfeat"] = field("auto", help="reconstruction loss: LPIPS when its weights "
                                                    "are present (auto), else D_T trunk features")
    w_l2: float = field(1.0, help="weight of the pixel L2 term", formerly="l2_weight")
    w_feat: float = field(1.0, help="weight of the perceptual/feature term", formerly="feat_weight")
    w_wplus: float = field(0.01, help="pull the W+ rows towards their mean, keeping anchors "
                           "transferable", formerly="wplus_reg")
    noise_ramp: float = field(0.75, help="fraction of steps during which W is perturbed (noise regularisation)")
    noise_start: float = field(0.05, help="initial W perturbation (units of the W std)")
    batch: int = field(16, help="images projected together")
    seed: int = field(0, help="seed of the noise regularisation")

    def __post_init__(self) -> None:
        weights = (self.w_l2, self.w_feat, self.w_wplus)
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError("w_l2, w_feat and w_wplus must be ≥ 0 and not all 0")


@dataclass
class GeneratorsOptions:
    """``--adapted`` and ``--teacher``: the generator pair every GPD stage after ``adapt`` reads."""

    adapted: str = field("", help="adapted model directory (output of gpd adapt); required", required=True,
                         metavar="DIR")
    teacher: str | None = field(None, help="source teacher (default: the adapted model's parent)", metavar="DIR")


@dataclass
class AnchorsConfig(DeviceOption, GeneratorsOptions, ProjectConfig):
    data: str = field("", help="paired folder (A/ source, B/ target) or a folder of target images; required")
    mode: Literal["auto", "paired", "target"] = field("auto", help="paired: project A into G_T; target: "
                                                      "project the images into G_target")
    out: str = field("", help="output file (default <adapted>/../anchors.safetensors)")


@dataclass
class PairsConfig:
    p_near: float = field(0.5, help="probability that w is drawn near an anchor (else from the mapping)")
    sigma: float = field(0.5, help="anchor neighbourhood: w = w_a + σ·std(W)·ε")
    psi: float = field(1.0, help="truncation of the free samples")
    seed: int = field(0, help="stream seed")


@dataclass
class StudentConfig(TranslatorShape):
    """The student's shape options (the translator's own, defaults in gpd/networks.py) and its PatchGAN's."""

    arch: Literal["unet", "resnet"] = field("unet", help="student translator architecture")
    d_channels: int = field_like(PatchGANConfig, "channels", help="PatchGAN base channels")
    d_layers: int = field_like(PatchGANConfig, "layers", help="PatchGAN stride-2 layers")


@dataclass
class GPDDistillConfig(RunOptions, GeneratorsOptions, PairsConfig, StudentConfig):
    out: str = field("runs/gpd-student", help="run directory")
    anchors: str = field("", help="anchors file (gpd anchors); required")
    kd: Literal["none", "direct", "anchor"] = field("anchor", help="none: real pairs only (pix2pix); "
                                                    "direct: generated pairs as data; anchor: anchor-based KD")
    steps: int = field(1000, help="optimisation steps")
    batch: int = field(4, help="real pairs per step, over all processes")
    gen_batch: int = field(8, help="generated pairs per step, over all processes (split like --batch)")
    batch_gpu: int | None = field(None, help="real pairs per process and round (default: batch / processes); "
                                  "gradient accumulation makes up the rest")
    lr: float = field(0.0002, help="Adam learning rate (student and discriminator)")
    w_l1: float = field(10.0, help="real pairs: L1 weight")
    w_perc: float = field(1.0, help="real pairs: perceptual (φ features) weight")
    w_adv: float = field(0.1, help="adversarial weight (0 disables the discriminator)")
    adv_generated: bool = field(False, help="also show the discriminator the student's outputs for generated "
                                "inputs G_T(w); off by default: the conditional PatchGAN can tell such fakes by "
                                "their generated input photo alone (see docs/gpd.md)")
    w_direct: float = field(10.0, help="generated pairs: trust-weighted pixel L1 weight")
    w_gen_perc: float = field(1.0, help="generated pairs: trust-weighted perceptual (φ features) weight")
    w_rel: float = field(1.0, help="anchor-relative term weight λ_rel")
    rel_anchor: Literal["corrected", "real", "twin"] = field(
        "corrected", help="anchor end of the anchor-relative term: corrected = S(x̃) must equal ỹ + (y_a − "
        "G_target(w_a)), trust-weighted (the teacher is trusted for changes near an anchor, the real target sets "
        "the level); real = DESIGN's first form (S(x̃) − S(x_a) vs ỹ − y_a); twin = the generated twin pair "
        "(G_T(w_a), G_target(w_a)) as the anchor end; see docs/gpd.md")
    omega_min: float = field(0.1, help="lowest trust weight ω for generated pairs far from anchors")
    tau: float | None = field(None, help="anchor distance scale τ (None: median nearest-anchor distance)")
    phi: Literal["auto", "lpips", "dfeat"] = field("auto", help="fixed feature extractor φ (auto: LPIPS if "
                                                   "present, else the frozen D_T trunk)")

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch < 1 or self.gen_batch < 1:
            raise ValueError("steps must be ≥ 0, batch and gen_batch ≥ 1")
        if not 0 <= self.p_near <= 1:
            raise ValueError("p_near must be in [0, 1]")
        if min(self.w_l1, self.w_perc, self.w_adv, self.w_direct, self.w_gen_perc, self.w_rel) < 0:
            raise ValueError("the loss weights w_* must be ≥ 0")
