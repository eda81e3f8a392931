"""KDIT: distilling a StyleGAN2 teacher into image-to-image and X-to-image students with
style-mixed triplets, then fine-tuning on limited real pairs (DESIGN §2.2, docs/kdit.md).

    from gandistill.kdit import TripletSampler, I2IStudent, X2IStudent, distill, finetune

The names load on first use, so importing a network module (``gandistill.kdit.i2i``) does not load the
training modules.
"""
from __future__ import annotations

from ..lazy_exports import export_lazily

# public name → (module, attribute in that module)
_EXPORTS = {
    "DistillConfig": (".distill", "DistillConfig"),
    "distill": (".distill", "distill"),
    "FinetuneConfig": (".finetune", "FinetuneConfig"),
    "finetune": (".finetune", "finetune"),
    "I2IStudent": (".i2i", "I2IStudent"),
    "X2IStudent": (".x2i", "X2IStudent"),
    "Triplets": (".triplets", "Triplets"),
    "TripletSampler": (".triplets", "TripletSampler"),
    "default_k_range": (".triplets", "default_k_range"),
    "mix_ws": (".triplets", "mix_ws"),
    "synthesize_triplets": (".triplets", "synthesize_triplets"),
}

__all__ = export_lazily(__name__)
