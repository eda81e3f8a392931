"""GPD — few-shot image translation via GAN prior distillation (DESIGN §2.3).

Stages: ``adapt`` (G_T → G_target with ≤10 images, CDC) → ``anchors`` (project real examples into W+)
→ ``PairStream`` / ``dump_pairs`` (aligned generated pairs) → ``distill`` (student translator with
anchor-based KD) → ``translate_gpd`` / ``teacher_route`` / ``export_student``.
"""
from .adapt import adapt
from .adapt_metrics import adaptation_measures, correspondence, diversity_ratio, memorisation
from .anchor_region import AnchorRegion, TwoLevelDiscriminator, build_adapt_discriminator
from .anchor_projection import Anchors, compute_anchors, load_generators
from .cdc import cdc_loss, cdc_term, similarity_distribution
from .config import AdaptConfig, AnchorsConfig, GPDDistillConfig, PairsConfig, ProjectConfig, StudentConfig
from .distill import distill
from .losses import (ADAPT_TERMS, KD_MODES, KD_TERMS, PROJECTION_TERMS, AdaptBatch, KDBatch, ProjectionBatch,
                     anchor_posterior, anchor_relative, latent_distance, trust_weight)
from .networks import (PatchDiscriminator, PatchGANConfig, ResNetTranslator, TranslatorConfig, UNetTranslator,
                       load_translator)
from .pairs import PairStream, dump_pairs
from .project import project
from .targets import load_targets
from .translate import export_student, teacher_route, translate_gpd

__all__ = [
    "ADAPT_TERMS", "AdaptBatch", "KD_MODES", "KD_TERMS", "PROJECTION_TERMS", "ProjectionBatch",
    "AdaptConfig", "AnchorRegion", "TwoLevelDiscriminator", "adaptation_measures", "build_adapt_discriminator",
    "correspondence", "diversity_ratio", "memorisation", "Anchors", "AnchorsConfig", "GPDDistillConfig", "KDBatch", "PairStream", "PairsConfig",
    "PatchDiscriminator", "PatchGANConfig", "ProjectConfig", "ResNetTranslator", "StudentConfig",
    "TranslatorConfig", "UNetTranslator", "adapt", "anchor_posterior", "anchor_relative", "cdc_loss", "cdc_term",
    "compute_anchors", "distill", "dump_pairs", "export_student", "latent_distance", "load_generators",
    "load_targets", "load_translator", "project", "similarity_distribution", "teacher_route", "translate_gpd",
    "trust_weight",
]
