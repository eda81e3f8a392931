"""KDIT: distilling a StyleGAN2 teacher into image-to-image and X-to-image students with
style-mixed triplets, then fine-tuning on limited real pairs (DESIGN §2.2, docs/kdit.md)."""
from .triplets import Triplets, TripletSampler, default_k_range, mix_ws, synthesize_triplets

__all__ = ["Triplets", "TripletSampler", "default_k_range", "mix_ws", "synthesize_triplets"]
