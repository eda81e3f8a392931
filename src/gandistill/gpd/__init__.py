"""GPD — few-shot image translation via GAN prior distillation (DESIGN §2.3).

Stages: ``adapt`` (G_T → G_target with ≤10 images, CDC) → ``anchors`` (project real examples into W+)
→ ``PairStream`` / ``dump_pairs`` (aligned generated pairs) → ``distill`` (student translator with
anchor-based KD) → ``translate_gpd`` / ``teacher_route`` / ``export_student``.

The names load on first use, so importing the network module (``gandistill.gpd.networks``) does not load
the training modules.
"""
from __future__ import annotations

from ..lazy_exports import export_lazily

# public name → (module, attribute in that module)
_EXPORTS = {
    "adapt": (".adapt", "adapt"),
    "adaptation_measures": (".adapt_metrics", "adaptation_measures"),
    "correspondence": (".adapt_metrics", "correspondence"),
    "diversity_ratio": (".adapt_metrics", "diversity_ratio"),
    "memorisation": (".adapt_metrics", "memorisation"),
    "AnchorRegion": (".anchor_region", "AnchorRegion"),
    "TwoLevelDiscriminator": (".anchor_region", "TwoLevelDiscriminator"),
    "build_adapt_discriminator": (".anchor_region", "build_adapt_discriminator"),
    "Anchors": (".anchor_projection", "Anchors"),
    "compute_anchors": (".anchor_projection", "compute_anchors"),
    "load_generators": (".anchor_projection", "load_generators"),
    "cdc_loss": (".cdc", "cdc_loss"),
    "cdc_term": (".cdc", "cdc_term"),
    "similarity_distribution": (".cdc", "similarity_distribution"),
    "AdaptConfig": (".config", "AdaptConfig"),
    "AnchorsConfig": (".config", "AnchorsConfig"),
    "GPDDistillConfig": (".config", "GPDDistillConfig"),
    "PairsConfig": (".config", "PairsConfig"),
    "ProjectConfig": (".config", "ProjectConfig"),
    "StudentConfig": (".config", "StudentConfig"),
    "distill": (".distill", "distill"),
    "ADAPT_TERMS": (".losses", "ADAPT_TERMS"),
    "KD_MODES": (".losses", "KD_MODES"),
    "KD_TERMS": (".losses", "KD_TERMS"),
    "PROJECTION_TERMS": (".losses", "PROJECTION_TERMS"),
    "AdaptBatch": (".losses", "AdaptBatch"),
    "KDBatch": (".losses", "KDBatch"),
    "ProjectionBatch": (".losses", "ProjectionBatch"),
    "anchor_posterior": (".losses", "anchor_posterior"),
    "anchor_relative": (".losses", "anchor_relative"),
    "latent_distance": (".losses", "latent_distance"),
    "trust_weight": (".losses", "trust_weight"),
    "PatchDiscriminator": (".networks", "PatchDiscriminator"),
    "PatchGANConfig": (".networks", "PatchGANConfig"),
    "ResNetTranslator": (".networks", "ResNetTranslator"),
    "TranslatorConfig": (".networks", "TranslatorConfig"),
    "UNetTranslator": (".networks", "UNetTranslator"),
    "load_translator": (".networks", "load_translator"),
    "PairStream": (".pairs", "PairStream"),
    "dump_pairs": (".pairs", "dump_pairs"),
    "project": (".project", "project"),
    "load_targets": (".targets", "load_targets"),
    "export_student": (".translate", "export_student"),
    "teacher_route": (".translate", "teacher_route"),
    "translate_gpd": (".translate", "translate_gpd"),
}

__all__ = export_lazily(__name__)
