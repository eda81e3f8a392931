"""KDIT: distilling a StyleGAN2 teacher into image-to-image and X-to-image students with
style-mixed triplets, then fine-tuning on limited real pairs (DESIGN §2.2, docs/kdit.md).

    from gandistill.kdit import TripletSampler, I2IStudent, X2IStudent, distill, finetune
"""
from .distill import DistillConfig, distill
from .finetune import FinetuneConfig, finetune
from .i2i import I2IStudent
from .triplets import Triplets, TripletSampler, default_k_range, mix_ws, synthesize_triplets
from .x2i import X2IStudent

__all__ = ["DistillConfig", "FinetuneConfig", "I2IStudent", "Triplets", "TripletSampler", "X2IStudent",
           "default_k_range", "distill", "finetune", "mix_ws", "synthesize_triplets"]
