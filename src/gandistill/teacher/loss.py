"""StyleGAN2 loss terms; they live in the engine (:mod:`gandistill.train.gan_losses`), shared by every stage."""
from ..train.gan_losses import d_logistic, g_nonsaturating, path_length, r1_penalty

__all__ = ["d_logistic", "g_nonsaturating", "path_length", "r1_penalty"]
