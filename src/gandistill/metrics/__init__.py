"""Evaluation metrics: FID/KID on Inception-v3 features, SSIM/PSNR/L1, LPIPS, diversity; ``evaluate``.

Protocol details (weights, resize filter, sample counts) are in docs/metrics.md.
"""
from .diversity import diversity, pairwise_diversity
from .evaluate import ALL_METRICS, DEFAULT_METRICS, evaluate
from .fid import feature_stats, fid_from_features, fid_from_stats
from .inception import InceptionFeatures, find_inception_weights
from .kid import KID, kid_from_features, mmd2_biased, mmd2_unbiased
from .lpips import LPIPS, load_lpips
from .pixel import l1, psnr, ssim

__all__ = [
    "ALL_METRICS", "DEFAULT_METRICS", "KID", "LPIPS", "InceptionFeatures", "diversity", "evaluate",
    "feature_stats", "fid_from_features", "fid_from_stats", "find_inception_weights", "kid_from_features",
    "l1", "load_lpips", "mmd2_biased", "mmd2_unbiased", "pairwise_diversity", "psnr", "ssim",
]
