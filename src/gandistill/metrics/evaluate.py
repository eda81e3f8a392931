"""``evaluate``: every metric for a generated set against a reference folder, plus the protocol used.

    from gandistill.metrics import evaluate
    evaluate("runs/x/samples", "data/faces", metrics=("fid", "kid"), out="metrics.json")
    evaluate("runs/x/translated", "data/test/B", metrics=("ssim", "psnr", "l1", "lpips"), paired=True)
    evaluate("runs/x/translated", "data/test/B", metrics=("l1",), paired=True, resize=128)  # other sizes

CLI: ``gandistill evaluate GENERATED --reference DIR [--metrics ...] [--paired] [--resize N] [--out metrics.json]``.

FID under ``FID_MIN_IMAGES`` images per set gives a warning (its bias depends on the counts); KID's
spread over subsets is reported as null, with the reason, when every subset is the whole of both sets.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Sequence

import torch

from .. import __version__
from ..errors import GandistillError, GandistillWarning
from ..io.atomic import atomic_write_text
from . import kid as kid_mod
from . import pixel
from .fid import fid_from_features
from .images import load_image, match_by_stem, to_tensor
from .inception import InceptionFeatures
from .lpips import LPIPS, load_lpips, to_lpips_input
from .sources import FolderSource, ImageSource, as_source
from .stats_cache import cached_features

DEFAULT_METRICS = ("fid", "kid")
DEFAULT_PAIRED_METRICS = ("fid", "kid", "ssim", "psnr", "l1")
DISTRIBUTION_METRICS = ("fid", "kid")
PAIRED_METRICS = ("ssim", "psnr", "l1", "lpips")
ALL_METRICS = DISTRIBUTION_METRICS + PAIRED_METRICS
FID_MIN_IMAGES = 2000  # below a few thousand images per set FID's bias dominates differences between models


def evaluate(generated, reference, metrics: Sequence[str] | None = None, paired: bool = False,
             num_images: int | None = None, out: str | Path | None = None, *,
             num_reference: int | None = None, inception: str | Path | InceptionFeatures | None = None,
             batch_size: int = 32, device: str | torch.device = "auto", seed: int = 0,
             kid_subsets: int = kid_mod.NUM_SUBSETS, kid_subset_size: int = kid_mod.MAX_SUBSET_SIZE,
             use_cache: bool = True, progress: bool = True, lpips_net: str = "alex",
             lpips_weights: str | Path | None = None, resize: int | None = None) -> dict:
    """Compute ``metrics`` for ``generated`` vs the ``reference`` folder; returns (and writes to ``out``) a dict.

    ``generated``: folder, model directory, tensor, callable(n) or iterable of uint8 batches.
    ``num_images`` caps generated images (first N files of a folder); ``num_reference`` caps the reference
    set (default: all of it). ``metrics`` default: fid, kid (plus ssim, psnr, l1 with ``paired``). Paired
    metrics (ssim, psnr, l1, lpips) need ``paired=True`` and two folders whose files match by stem; asking
    for one without ``paired`` is an error. ``resize``: paired metrics compare both images centre-cropped
    and resized to ``resize`` × ``resize`` (default: as they are, sizes must agree). ``device``: ``auto``
    (CUDA when available), ``cpu``, ``cuda``, ``cuda:N``.
    """
    metrics = _check_metrics(metrics if metrics is not None else DEFAULT_PAIRED_METRICS if paired else DEFAULT_METRICS)
    device = _resolve(device)
    result: dict = {"metrics": {}, "skipped": {}, "counts": {}, "protocol": {},
                    "gandistill_version": __version__}
    wanted_dist = [m for m in metrics if m in DISTRIBUTION_METRICS]
    wanted_paired = [m for m in metrics if m in PAIRED_METRICS]
    if wanted_paired and not paired:
        raise GandistillError(f"--metrics {','.join(wanted_paired)}: paired metrics compare each image with its ground "
                              "truth; pass --paired (paired=True) with files matching by name in both folders, or "
                              "drop them from --metrics")
    if resize is not None and resize < 11:
        raise GandistillError(f"--resize must be at least 11 pixels (SSIM's window), got {resize}")

    gen_source = as_source(generated, num_images, seed=seed, device=device)
    ref_source = as_source(reference, num_reference, seed=seed, device=device)
    result["generated"], result["reference"] = gen_source.description, ref_source.description

    if wanted_paired:  # check pairing and LPIPS weights before the slow Inception pass
        pairs = _pairs(gen_source, ref_source, num_images)
        lpips_model = load_lpips(lpips_net, lpips_weights, device) if "lpips" in wanted_paired else None
    if wanted_dist:
        _distribution_metrics(result, wanted_dist, gen_source, ref_source, inception, batch_size, device,
                              seed, kid_subsets, kid_subset_size, use_cache, progress)
    if wanted_paired:
        _paired_metrics(result, wanted_paired, pairs, lpips_model, lpips_net, device, progress, resize)
    if out is not None:
        atomic_write_text(out, json.dumps(_jsonable(result), indent=2) + "\n")
    return result


def _resolve(device: str | torch.device) -> torch.device:
    from ..utils.dist import resolve_device

    return resolve_device(device)


def _check_metrics(metrics: Sequence[str] | str) -> list[str]:
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    names = [m.strip().lower() for m in metrics]
    unknown = [m for m in names if m not in ALL_METRICS]
    if unknown or not names:
        raise GandistillError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ALL_METRICS)}")
    return list(dict.fromkeys(names))


def _distribution_metrics(result: dict, wanted: list[str], gen: ImageSource, ref: ImageSource, inception, batch_size,
                          device, seed, kid_subsets, kid_subset_size, use_cache, progress) -> None:
    extractor = inception if isinstance(inception, InceptionFeatures) else InceptionFeatures(inception, device, batch_size)
    protocol = extractor.protocol()

    def ref_features() -> torch.Tensor:
        return extractor.extract(ref.batches(batch_size), ref.size(), "reference features", progress, ref.limit)

    if ref.files is not None:
        ref_protocol = dict(protocol, num_images=len(ref.files))
        ref_feats, hit = cached_features(ref.files, ref_protocol, ref_features, use_cache)
        cache = "hit" if hit else ("miss (stored)" if use_cache else "off")
    else:
        ref_feats, cache = ref_features(), "off (reference is not a folder)"
    gen_feats = extractor.extract(gen.batches(batch_size), gen.size(), "generated features", progress, gen.limit)
    result["counts"].update(generated=int(gen_feats.shape[0]), reference=int(ref_feats.shape[0]))
    result["protocol"]["inception"] = dict(protocol, reference_cache=cache)
    if "fid" in wanted:
        result["metrics"]["fid"] = fid_from_features(ref_feats, gen_feats)
        result["protocol"]["fid"] = {"sqrtm": "exact, float64, no scipy: nuclear norm of the centred feature cross "
                                              "product when a set has <= 2048 images, else eigh of sqrt(S1) S2 sqrt(S1)"}
        n_gen, n_ref = int(gen_feats.shape[0]), int(ref_feats.shape[0])
        if min(n_gen, n_ref) < FID_MIN_IMAGES:
            note = (f"FID of {n_gen} generated vs {n_ref} reference images: below ~{FID_MIN_IMAGES} images FID is "
                    "strongly biased upwards, so these numbers are only comparable with FIDs at the same counts "
                    "(KID is unbiased)")
            result["protocol"]["fid"]["small_sample"] = note
            warnings.warn(note, GandistillWarning, stacklevel=3)
    if "kid" in wanted:
        k = kid_mod.kid_from_features(ref_feats, gen_feats, kid_subsets, kid_subset_size, seed)
        result["metrics"]["kid"], result["metrics"]["kid_std"] = k.mean, k.std
        result["protocol"]["kid"] = {"kernel": "(x.y/d + 1)^3", "estimator": "unbiased MMD^2",
                                     "num_subsets": k.num_subsets, "subset_size": k.subset_size, "seed": seed}
        if k.std is None:
            result["protocol"]["kid"]["kid_std"] = k.std_note


def _pairs(gen: ImageSource, ref: ImageSource, num_images: int | None) -> list[tuple[str, Path, Path]]:
    if not (isinstance(gen, FolderSource) and isinstance(ref, FolderSource)):
        raise GandistillError("paired metrics need two folders of images matched by file stem; "
                              f"got {gen.description} and {ref.description}")
    pairs = match_by_stem(gen.root, ref.root)[:num_images]  # [:None] keeps all
    if not pairs:
        raise GandistillError(f"no image pairs to evaluate (num_images={num_images}); pass a positive --num")
    return pairs


def _paired_metrics(result: dict, wanted: list[str], pairs: list[tuple[str, Path, Path]], lpips_model: LPIPS | None,
                    lpips_net: str, device, progress: bool, resize: int | None = None) -> None:
    from tqdm import tqdm

    from ..data.images import resize_square

    def load(path: Path) -> torch.Tensor:
        img = load_image(path)
        return to_tensor(resize_square(img, resize) if resize else img)[None]

    values: dict[str, list[torch.Tensor]] = {m: [] for m in wanted}
    for _stem, gpath, rpath in tqdm(pairs, desc="paired metrics", unit="img", disable=not progress, leave=False):
        g, r = load(gpath), load(rpath)
        if g.shape != r.shape:
            raise GandistillError(f"{gpath} is {g.shape[3]}x{g.shape[2]} but its ground truth {rpath} is "
                                  f"{r.shape[3]}x{r.shape[2]}; paired metrics need equal sizes: pass --resize N "
                                  "(or translate with --size input)")
        if "ssim" in wanted:
            values["ssim"].append(pixel.ssim(g, r))
        if "psnr" in wanted:
            values["psnr"].append(pixel.psnr(g, r))
        if "l1" in wanted:
            values["l1"].append(pixel.l1(g, r))
        if lpips_model is not None:
            with torch.no_grad():
                values["lpips"].append(lpips_model(to_lpips_input(g).to(device), to_lpips_input(r).to(device)).cpu())
    for m, vals in values.items():
        result["metrics"][m] = float(torch.cat(vals).double().mean())  # mean of per-image values; PSNR: inf if any pair is identical
    result["counts"]["pairs"] = len(pairs)
    result["protocol"]["paired"] = {
        "matching": "relative path without extension",
        "images": (f"uint8 RGB, centre square resized to {resize}x{resize} (Lanczos)" if resize
                   else "uint8 RGB, no resizing"),
        "ssim": "Gaussian 11x11 sigma 1.5, K1 0.01, K2 0.03, data range 255, valid windows, mean over channels",
        "psnr": "10 log10(255^2 / MSE) per image, then mean", "l1": "mean |a-b| / 255 per image, then mean",
    }
    if lpips_model is not None:
        result["protocol"]["paired"]["lpips"] = f"v0.1 {lpips_net}, inputs in [-1, 1]"


def _jsonable(obj):
    """Strict JSON: non-finite floats become strings ("inf")."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj
