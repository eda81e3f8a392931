"""Cache of reference-set Inception features, so a dataset is run through Inception once per protocol.

Key = sha256 of (ordered list of the images' content hashes, protocol JSON). The protocol holds the
extractor's weights hash, resize filter and the number of images used, so changing any image, the
weights, or ``num_images`` gives a new key. File names and the folder's location are not part of
the key: a moved or copied dataset still hits. Entries are safetensors files under
``$GANDISTILL_CACHE/stats`` (default ``~/.cache/gandistill/stats``), written atomically; features are
stored (not only mean/covariance) because KID needs them.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..io.atomic import atomic_path
from ..io.download import CACHE_ENV as ENV_VAR, cache_root  # noqa: F401 - one cache root for the package
from ..io.pretrained import file_sha256


def stats_dir() -> Path:
    return cache_root() / "stats"


def dataset_fingerprint(files: Sequence[Path]) -> str:
    """sha256 over the ordered content hashes of ``files`` (every byte is read)."""
    h = hashlib.sha256()
    for f in files:
        h.update(file_sha256(f).encode())
        h.update(b"\n")
    return h.hexdigest()


def stats_key(fingerprint: str, protocol: dict) -> str:
    payload = json.dumps({"data": fingerprint, "protocol": protocol}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def load_features(key: str) -> torch.Tensor | None:
    """Cached features for ``key``, or None when absent or unreadable (a bad entry is recomputed)."""
    path = stats_dir() / f"{key}.safetensors"
    if not path.is_file():
        return None
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))["features"]
    except (SafetensorError, KeyError, OSError) as exc:
        warnings.warn(f"{path}: unreadable stats cache entry ({exc}); recomputing it", stacklevel=2)
        return None


def save_features(key: str, features: torch.Tensor, protocol: dict) -> Path:
    """Write features (and mean/covariance for other tools) atomically; returns the cache file."""
    from safetensors.torch import save_file

    from .fid import feature_stats

    path = stats_dir() / f"{key}.safetensors"
    tensors = {"features": features.float().contiguous()}
    if features.shape[0] >= 2:
        mu, sigma = feature_stats(features)
        tensors.update(mu=mu.contiguous(), sigma=sigma.contiguous())
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"protocol": json.dumps(protocol, sort_keys=True)})
    return path


def cached_features(files: Sequence[Path], protocol: dict, compute: Callable[[], torch.Tensor],
                    use_cache: bool = True) -> tuple[torch.Tensor, bool]:
    """(features, cache_hit): ``compute()`` runs only on a miss; its result is then stored."""
    if not use_cache:
        return compute(), False
    key = stats_key(dataset_fingerprint(files), protocol)
    cached = load_features(key)
    if cached is not None:
        return cached, True
    features = compute()
    save_features(key, features, protocol)
    return features, False
