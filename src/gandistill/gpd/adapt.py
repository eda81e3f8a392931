"""GPD stage 1: few-shot adaptation of the source teacher to the target domain (``gandistill gpd adapt``).

    gandistill gpd adapt --teacher runs/teacher/model --target data/sketches10 --out runs/adapt --steps 300
    gandistill gpd adapt --out runs/adapt --resume latest
    torchrun --nproc_per_node=2 -m gandistill.cli.main gpd adapt --teacher ... --target ... --batch 8

G_target and D_target start as copies of G_T and D_T. The mapping network is frozen, so both generators
share W and a latent w names an aligned (source, target) pair. One step = G phase (``w_adv`` × non-saturating
loss on augmented fakes + ``w_cdc`` × CDC against the frozen G_T: ``losses.ADAPT_TERMS``) → D phase
(logistic loss on the augmented few targets and fakes) [+ lazy R1]: the phase table of the shared engine
(``gandistill.train``), so under ``torchrun`` each process takes its share of the batch. With ``cdc_anchor_every`` > 0 the
discriminator judges whole images only near CDC's anchor points and patches elsewhere
(``anchor_region.py``). ``w_cdc 0`` is plain fine-tuning; ``freeze_g`` / ``freeze_d`` / ``freeze``
freeze generator blocks / early discriminator layers. Every grid step measures diversity,
correspondence and memorisation on fixed latents (``adapt_metrics.py``) into stats.jsonl.
"""
from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from ..data.sampler import InfiniteSampler
from ..errors import GandistillError
from ..teacher import Generator, Teacher
from ..teacher.augment import Augment
from ..teacher.model import stylegan2_part
from ..train import Phase, Round, d_phases, plan_batch, setup_processes, train_loop
from ..train.gan_losses import r1_gamma_heuristic
from ..train.reals import xflip_take
from ..train.terms import combine, weights_of
from ..utils.images import save_grid, save_labelled_grid, to_float
from ..utils.training import adam, prepare_run_dir
from .adapt_metrics import adaptation_measures, flat_features, pair_references
from .anchor_region import AnchorRegion, build_adapt_discriminator, default_patch_res
from .common import ANCHORS_FILES, NOISE_MODE
from .config import AdaptConfig, ProjectConfig
from .losses import ADAPT_TERMS, AdaptBatch
from .project import dfeat_features, feature_distance, project
from .targets import holds_pairs, load_pairs, load_targets


def resolve_freeze(G: Generator, D, cfg: AdaptConfig) -> tuple[list[int], int]:
    """(synthesis blocks, FreezeD depth) from the explicit options plus the ``freeze`` preset."""
    blocks, depth = set(cfg.freeze_g), cfg.freeze_d
    if cfg.freeze in ("coarse", "both"):
        blocks |= {i for i, b in enumerate(G.synthesis.blocks) if b.resolution <= 8}
    if cfg.freeze in ("freezed", "both"):
        depth = max(depth, (len(D.blocks) + 1) // 2)
    return sorted(blocks), depth


def freeze_parts(G: Generator, D, freeze_g: list[int], freeze_d: int, freeze_noise: bool = False) -> None:
    """Mapping always frozen (shared W); listed synthesis blocks; D's fromRGB + first freeze_d-1 blocks;
    with ``freeze_noise`` every synthesis layer's noise strength."""
    G.mapping.requires_grad_(False)
    if freeze_noise:
        for name, p in G.synthesis.named_parameters():
            if name.endswith("noise_strength"):
                p.requires_grad_(False)
    n = len(G.synthesis.blocks)
    bad = [b for b in freeze_g if not 0 <= b < n]
    if bad:
        raise GandistillError(f"--freeze-g {bad}: the generator has blocks 0…{n - 1}")
    for b in freeze_g:
        G.synthesis.blocks[b].requires_grad_(False)
    if freeze_d > 0:
        if freeze_d > len(D.blocks) + 1:
            raise GandistillError(f"--freeze-d {freeze_d}: the discriminator has {len(D.blocks) + 1} trunk layers")
        D.fromrgb.requires_grad_(False)
        for blk in D.blocks[:freeze_d - 1]:
            blk.requires_grad_(False)


@torch.no_grad()  # without it the 32 renders keep G's autograd graph: > 20 GB at 256 px (benchmarks/path256.py)
def measure(G_T: Generator, G: Generator, ws: torch.Tensor, targets: torch.Tensor, features,
            grid_path: str | Path | None = None, title: str = "", n_grid: int = 8) -> dict[str, float]:
    """Adaptation measures on the latents ``ws``; optionally the labelled grid of the first ``n_grid``:
    rows G_T(w), G_target(w), the nearest target of each G_target sample."""
    src = torch.cat([G_T.synthesis(w, noise_mode=NOISE_MODE) for w in ws.split(16)])
    tgt = torch.cat([G.synthesis(w, noise_mode=NOISE_MODE) for w in ws.split(16)])
    stats, nearest = adaptation_measures(src, tgt, targets, features)
    if grid_path is not None:
        k = min(n_grid, len(ws))
        save_labelled_grid([src[:k], tgt[:k], targets[nearest[:k]]], ["G_T(w)", "G_target(w)", "nearest target"],
                           grid_path, title=title, scale=max(1, 64 // src.shape[-1]),
                           col_labels=[f"w{i}" for i in range(k)])
    return stats


@dataclass
class PairedAnchors:
    """A paired --target's sources projected into G_T (``ws``), their real targets, and the seeded sampler
    that picks each step's pairs; ``ws`` and the sampler travel in the training state."""
    ws: torch.Tensor
    sources: torch.Tensor
    targets: torch.Tensor
    sampler: InfiniteSampler
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    references: dict[str, float]  # empty for --self-pairs: a target against itself is no reference
    source_renders: torch.Tensor | None = None  # G_T(w_a), rendered once: G_T is frozen

    @classmethod
    def build(cls, G_T: Generator, D_T, sources: torch.Tensor, targets: torch.Tensor, cfg: AdaptConfig, info,
              device: torch.device, features, real_sources: bool = True) -> "PairedAnchors":
        """Project the sources (a resumed run loads its latents from the state instead); ``real_sources``
        False (--self-pairs: the targets are their own sources) leaves out the measures' references."""
        x = to_float(sources).to(device)
        pcfg = ProjectConfig(steps=cfg.pair_proj_steps, seed=cfg.seed, progress=False)
        distance, _ = feature_distance(pcfg.loss, D_T, device)
        if cfg.resume:
            ws = torch.zeros(len(x), G_T.num_ws, G_T.mapping.w_dim, device=device)
        else:
            # on a copy: projection turns G channels-last, which a resumed run (no projection) would not
            ws, quality = project(copy.deepcopy(G_T), x, pcfg, distance=distance)
            if info.is_main:
                print(f"adapt: {len(x)} paired source(s) projected into G_T ({cfg.pair_proj_steps} steps), mean PSNR "
                      f"{quality['mean_psnr']:.2f} dB")
        refs = pair_references(x, targets, features) if real_sources else {}
        return cls(ws, x, targets, InfiniteSampler(len(x), info.rank, info.world_size, seed=cfg.seed + 7),
                   distance, refs)

    def take(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``n`` pairs (latents, real targets)."""
        idx = torch.as_tensor(self.sampler.next(n), device=self.ws.device)
        return self.ws[idx], self.targets[idx]

    @torch.no_grad()
    def measure(self, G_T: Generator, G: Generator, grid_path: Path, title: str) -> dict[str, float]:
        """``adapt/pair_l1`` (G_target(w_a) against the real targets), the measures' references from the real
        pairs (``adapt/diversity_ref``, ``adapt/correspondence_ref``) and the labelled grid of the pairs."""
        if self.source_renders is None:  # after the state is loaded: a resumed run's ws arrive late
            self.source_renders = torch.cat([G_T.synthesis(w, noise_mode=NOISE_MODE) for w in self.ws.split(16)])
        src = self.source_renders
        tgt = torch.cat([G.synthesis(w, noise_mode=NOISE_MODE) for w in self.ws.split(16)])
        save_labelled_grid([self.sources, src, tgt, self.targets],
                           ["real source" if self.references else "target", "G_T(w_a)", "G_target(w_a)",
                            "real target"], grid_path, title=title,
                           scale=max(1, 64 // src.shape[-1]))
        return {"adapt/pair_l1": float((tgt - self.targets).abs().mean()), **self.references}


def adapt(cfg: AdaptConfig, dry_run: bool = False, on_finish: Callable[[dict], None] | None = None) -> Path:
    """Adapt (or resume adapting) a teacher to a few target images; returns the model directory.

    Under ``torchrun`` every process trains a replica on its share of each batch (rank 0 writes).
    ``on_finish`` gets this process's training objects (networks, optimisers, sampler) after the last step.
    """
    if not cfg.teacher or not cfg.target:
        raise GandistillError("gpd adapt needs --teacher (source model directory) and --target (image folder)")
    device, info = setup_processes(cfg.device)
    out = Path(cfg.out)
    inputs = {"--teacher": cfg.teacher, "--target": cfg.target}
    prepare_run_dir(out, cfg.resume, cfg.overwrite, clear=not dry_run and info.is_main, inputs=inputs,
                    run_files=ANCHORS_FILES)  # before any work: never over a run; old anchors fit the old model
    batch_gpu, _ = plan_batch(cfg.batch, cfg.batch_gpu, info.world_size)
    if batch_gpu < 2:
        raise GandistillError(f"--batch {cfg.batch} over {info.world_size} process(es) leaves {batch_gpu} latent per "
                              f"process and round, and CDC compares the latents of each round: use --batch "
                              f"{2 * info.world_size} or more (and --batch-gpu ≥ 2)")
    teacher = Teacher.from_pretrained(cfg.teacher)
    mcfg = teacher.config
    sources = None  # paired --target: the real sources of the targets
    if holds_pairs(cfg.target):
        sources, targets, names = load_pairs(cfg.target, mcfg.resolution, mcfg.img_channels, "target pairs",
                                             cfg.max_targets)
        if cfg.self_pairs:
            warnings.warn(f"--self-pairs: {cfg.target} holds real pairs (A/, B/); their sources are used",
                          stacklevel=2)
    else:
        targets, names = load_targets(cfg.target, mcfg.resolution, mcfg.img_channels, cfg.max_targets)
        if cfg.self_pairs:  # JoJoGAN: the target's own projection into G_T is its source
            sources = targets
    use_pairs = sources is not None and cfg.w_pair > 0
    if info.is_main:
        print(f"adapt: {len(names)} target image(s) from {cfg.target} → teacher {cfg.teacher} "
              f"({mcfg.img_channels}×{mcfg.resolution}²); CDC weight {cfg.w_cdc}, anchor region "
              f"{'every ' + str(cfg.cdc_anchor_every) + ' steps' if cfg.cdc_anchor_every else 'off'}"
              f"{'; paired term ' + str(cfg.w_pair) if use_pairs else ''}; device {device}"
              + (f", {info.world_size} processes" if info.enabled else ""))
    if dry_run:
        if info.is_main:
            print(json.dumps(asdict(cfg), indent=2))
        return out / "model"

    torch.manual_seed(cfg.seed)  # the same networks on every process
    G_T = teacher.G.to(device).eval().requires_grad_(False)
    D_T = teacher.D.to(device).eval().requires_grad_(False)  # fixed feature space of the measures
    G = copy.deepcopy(G_T).train().requires_grad_(True)
    patch_res = (cfg.patch_res or default_patch_res(mcfg.resolution)) if cfg.cdc_anchor_every > 0 else None
    disc = build_adapt_discriminator(teacher, patch_res).to(device).train().requires_grad_(True)
    freeze_g, freeze_d = resolve_freeze(G, stylegan2_part(disc.D), cfg)
    freeze_parts(G, stylegan2_part(disc.D), freeze_g, freeze_d, cfg.freeze_noise)
    # the optimisers hold only the trained parameters: the phases never unfreeze the others
    opt_g = adam([p for p in G.parameters() if p.requires_grad], cfg.lr_g, cfg.beta2, 0)
    opt_d = adam([p for p in disc.parameters() if p.requires_grad], cfg.lr_d, cfg.beta2, cfg.r1_interval)
    aug = Augment(cfg.augment, cfg.diffaug_policy).to(device)
    r1_gamma = cfg.r1_gamma if cfg.r1_gamma is not None else r1_gamma_heuristic(mcfg.resolution, cfg.batch)
    sampler = InfiniteSampler(len(targets) * (2 if cfg.xflip else 1), info.rank, info.world_size, seed=cfg.seed)
    region = AnchorRegion.random(cfg.cdc_anchors or len(targets), mcfg.z_dim, cfg.cdc_anchor_sigma, cfg.seed + 99)
    g_weights = weights_of(cfg, ADAPT_TERMS)
    g_weights["pair"] = g_weights["pair"] if use_pairs else 0.0

    # fixed latents for the grids and the measures (the grid shows the first 8)
    eval_ws = G_T.mapping(torch.randn(max(cfg.measure_n, 8), mcfg.z_dim,
                                      generator=torch.Generator().manual_seed(cfg.seed + 123)).to(device))
    targets_f = to_float(targets).to(device)
    features = flat_features(dfeat_features(D_T))
    pairs = PairedAnchors.build(G_T, D_T, sources, targets_f, cfg, info, device, features,
                                real_sources=sources is not targets) if use_pairs else None
    if info.is_main and not cfg.resume:  # a resumed run already has its step-0 grids
        save_grid(targets, out / "samples" / "targets.png", scale=max(1, 64 // mcfg.resolution))
        measure(G_T, G, eval_ws, targets_f, features, out / "samples" / "compare-00000000.png", "step 0")

    def latents(step: int, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(ws, image-level mask): anchor-region steps draw near the anchor points; None = plain D."""
        if cfg.cdc_anchor_every <= 0:
            return G_T.mapping(torch.randn(n, mcfg.z_dim, device=device)), None
        z = region.sample(n, device) if step % cfg.cdc_anchor_every == 0 else \
            torch.randn(n, mcfg.z_dim, device=device)
        return G_T.mapping(z), region.contains(z)

    def g_main(r: Round) -> tuple[torch.Tensor, dict[str, float]]:  # adversarial + CDC (shared, frozen mapping)
        with torch.no_grad():
            ws, image_level = latents(r.step, r.size)
        fake, feats = G.synthesis(ws, noise_mode=NOISE_MODE, return_features=True)
        cdc_ws, cdc_feats = ws, feats  # free latents: CDC on the same batch
        if image_level is not None and bool(image_level.any()):
            with torch.no_grad():  # anchor-region latents are near-duplicates: CDC on a free batch, as CDC does
                cdc_ws, cdc_feats = G_T.mapping(torch.randn(r.size, mcfg.z_dim, device=device)), None
        batch = AdaptBatch(G_T, G, fake, lambda img: disc(aug(img), image_level), cdc_ws, cdc_feats,
                           cfg.cdc_layers, cfg.w_cdc)
        if pairs is not None:
            batch.pair_ws, batch.pair_y = pairs.take(r.size)
            batch.pair_distance = pairs.distance
        loss, stats = combine(ADAPT_TERMS, batch, g_weights)
        if cfg.w_cdc == 0:  # plain fine-tuning still reports its CDC, as a measure (no graph at weight 0)
            with torch.no_grad():
                stats["loss/cdc"] = float(ADAPT_TERMS["cdc"](batch))
        return loss, stats

    # a step's latents are all anchor-region or all free, so every round of the step is judged (R1 too)
    # in the mode its fakes set
    mode: dict[str, torch.Tensor | None] = {"image_level": None}

    def fakes(r: Round) -> torch.Tensor:
        ws, mode["image_level"] = latents(r.step, r.size)
        return G.synthesis(ws, noise_mode=NOISE_MODE)

    # D: logistic on augmented targets vs fakes (each real in the mode of the fake at its index), lazy R1
    phases = [Phase("G", g_main, opt_g, label="generator loss"),
              *d_phases(lambda img: disc(aug(img), mode["image_level"]), opt_d,
                        reals=lambda r: xflip_take(targets_f, sampler.next(r.size)), fakes=fakes,
                        r1_gamma=r1_gamma, r1_interval=cfg.r1_interval)]

    def save_model(step: int) -> None:
        Teacher.from_networks(G, disc.D).save_pretrained(
            out / "model", parents={"teacher": teacher.source_hash},
            extra={"gpd": "adapted", "teacher_dir": str(Path(cfg.teacher).resolve()), "step": step,
                   "targets": names, "w_cdc": cfg.w_cdc, "cdc_anchor_every": cfg.cdc_anchor_every,
                   "freeze_g": freeze_g, "freeze_d": freeze_d, "freeze_noise": cfg.freeze_noise,
                   "w_pair": cfg.w_pair if use_pairs else 0.0})

    def grid(step: int) -> dict[str, float]:
        stats = measure(G_T, G, eval_ws, targets_f, features, out / "samples" / f"compare-{step:08d}.png",
                        f"step {step}")
        if pairs is not None:
            stats.update(pairs.measure(G_T, G, out / "samples" / f"pairs-{step:08d}.png", f"step {step}"))
        return stats

    if pairs is not None and info.is_main and not cfg.resume:
        pairs.measure(G_T, G, out / "samples" / "pairs-00000000.png", "step 0")
    objs = {"G": G, "D": disc.D, "opt_g": opt_g, "opt_d": opt_d, "aug": aug, "sampler": sampler}
    if pairs is not None:
        objs.update(pair_ws=pairs.ws, pair_sampler=pairs.sampler)
    if disc.patch_head is not None:
        objs.update(patch_head=disc.patch_head, region=region)
    train_loop(cfg, phases, objs, save_model=save_model, desc="gpd adapt", resume_hint="gandistill gpd adapt",
               device=device, info=info, grid=grid, seed=cfg.seed, inputs=inputs,
               arch_keys=("teacher", "freeze_g", "freeze_d", "freeze", "freeze_noise", "cdc_anchor_every", "patch_res",
                          "w_pair", "self_pairs"),
               bar_keys=("loss/adv", "loss/D", "loss/cdc"), model_dir=out / "model",
               diverged_hint="Lower --lr-g/--lr-d or raise --r1-gamma")
    if on_finish is not None:
        on_finish(objs)
    return out / "model"
