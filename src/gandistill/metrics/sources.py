"""Where images to evaluate come from: a folder, a model directory, a tensor, a callable or an iterator.

Every source yields uint8 (N,3,H,W) batches. Float batches from callables/iterators/models are taken
to be in about [-1, 1] and quantised like saved PNGs (``images.quantize``) before any metric sees them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch

from ..errors import CheckpointError, GandistillError
from ..utils.inference import inference, prepare_for_inference
from .images import iter_folder_batches, list_images, quantize

MODEL_FILES = ("config.json", "model.safetensors")
Z_CHUNK = 256


class ImageSource:
    """Base: ``batches(batch_size)`` yields uint8 batches, at most ``limit`` images in total."""

    description = "images"
    files: list[Path] | None = None  # set for folders: enables the stats cache and paired metrics

    def __init__(self, limit: int | None = None):
        self.limit = limit

    def size(self) -> int | None:
        return self.limit

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        raise NotImplementedError


class FolderSource(ImageSource):
    def __init__(self, root: str | Path, limit: int | None = None):
        super().__init__(limit)
        self.root = Path(root)
        files = list_images(self.root)
        self.files = files[:limit] if limit is not None else files  # first N in sorted order: reproducible
        self.description = str(self.root)

    def size(self) -> int:
        return len(self.files)

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        return iter_folder_batches(self.files, batch_size)


class TensorSource(ImageSource):
    def __init__(self, images: torch.Tensor, limit: int | None = None):
        super().__init__(limit)
        self.images = _as_uint8(images)[:limit] if limit is not None else _as_uint8(images)
        self.description = f"tensor{tuple(images.shape)}"

    def size(self) -> int:
        return self.images.shape[0]

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        for start in range(0, self.images.shape[0], batch_size):
            yield self.images[start:start + batch_size]


class CallableSource(ImageSource):
    """``fn(n)`` returns n images (uint8, or float in [-1, 1]); called until ``limit`` images exist."""

    def __init__(self, fn: Callable[[int], torch.Tensor], limit: int | None, description: str = "callable"):
        if limit is None:
            raise GandistillError("a generator callable needs num_images (--num N): how many images to generate")
        super().__init__(limit)
        self.fn = fn
        self.description = description

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        done = 0
        while done < self.limit:
            n = min(batch_size, self.limit - done)
            with torch.no_grad():
                batch = _as_uint8(self.fn(n))[:n]
            if batch.shape[0] == 0:
                raise GandistillError("the generator callable returned no images")
            done += batch.shape[0]
            yield batch


class IterableSource(ImageSource):
    def __init__(self, iterable: Iterable[torch.Tensor], limit: int | None = None):
        super().__init__(limit)
        self.iterable = iterable
        self.description = type(iterable).__name__

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        done = 0
        for batch in self.iterable:
            batch = _as_uint8(batch)
            if self.limit is not None:
                batch = batch[: self.limit - done]
            if batch.shape[0]:
                done += batch.shape[0]
                yield batch
            if self.limit is not None and done >= self.limit:
                return


def list_images_quietly(path: Path) -> list[Path]:
    """Images under ``path`` (empty list when none), for telling model directories from image folders."""
    from ..data.images import list_images as find

    return find(path)


def is_model_dir(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and all((path / f).is_file() for f in MODEL_FILES)


def model_source(model_dir: str | Path, limit: int | None, seed: int = 0,
                 device: str | torch.device = "cpu") -> CallableSource:
    """Sample a saved teacher: z ~ N(0, I) from a seeded generator, output quantised to uint8."""
    try:
        from ..teacher import Generator
    except ImportError as exc:
        raise GandistillError(f"{model_dir}: evaluating a model directory needs gandistill.teacher.Generator, which "
                              f"is not available in this install ({exc}); sample images to a folder and evaluate that") from exc
    try:
        with torch.random.fork_rng(devices=[]):  # building the module draws init weights from the global RNG
            G = prepare_for_inference(Generator.from_pretrained(model_dir), device)
    except GandistillError:
        raise
    except Exception as exc:  # anything else from a foreign or damaged directory: report it as a checkpoint problem
        raise CheckpointError(f"{model_dir}: cannot load the generator ({exc})") from exc
    rng = torch.Generator().manual_seed(seed)  # CPU generator: same latents on any device
    pending = torch.zeros(0, G.z_dim)
    calls = 0
    device = torch.device(device)
    fork = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []

    @inference
    def sample(n: int) -> torch.Tensor:
        nonlocal pending, calls
        while pending.shape[0] < n:  # latents drawn in fixed chunks: they do not depend on the batch size
            pending = torch.cat([pending, torch.randn(Z_CHUNK, G.z_dim, generator=rng)])
        z, pending = pending[:n], pending[n:]
        calls += 1
        # Per-layer noise stays random (as in training and NVlabs' metrics) but seeded, without
        # disturbing the caller's global RNG state.
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(seed * 1_000_003 + calls)
            return quantize(G(z.to(device))).cpu()

    return CallableSource(sample, limit, description=f"model:{model_dir} (seed {seed})")


def as_source(obj, limit: int | None = None, seed: int = 0, device: str | torch.device = "cpu") -> ImageSource:
    """Adapt a folder path, model directory path, uint8/float tensor, callable(n) or iterable of batches."""
    if isinstance(obj, ImageSource):
        return obj
    if isinstance(obj, (str, Path)):
        if is_model_dir(obj):
            return model_source(obj, limit, seed, device)
        path = Path(obj)
        if not path.is_dir():
            raise GandistillError(f"{obj}: not found; pass a folder of images or a model directory "
                                  f"(one holding {' and '.join(MODEL_FILES)})")
        if (path / MODEL_FILES[0]).is_file() and not list_images_quietly(path):
            raise CheckpointError(f"{obj} is a model directory whose weights ({MODEL_FILES[1]}) are missing; "
                                  f"restore them (or pass the complete model directory with --num N), or pass a "
                                  "folder of generated images")
        if is_model_dir(path / "model") and not list_images_quietly(path):
            raise GandistillError(f"{obj} is a training run, not a folder of images; pass its model directory "
                                  f"{path / 'model'} with --num N to sample it, or a folder of generated images")
        return FolderSource(obj, limit)
    if isinstance(obj, torch.Tensor):
        return TensorSource(obj, limit)
    if callable(obj):
        return CallableSource(obj, limit)
    if isinstance(obj, Iterable):
        return IterableSource(obj, limit)
    raise GandistillError(f"cannot evaluate images from a {type(obj).__name__}; pass a folder, model directory, "
                          "tensor, callable(n) or iterable of uint8 batches")


def _as_uint8(batch: torch.Tensor) -> torch.Tensor:
    if not isinstance(batch, torch.Tensor) or batch.ndim != 4:
        raise GandistillError(f"image batches must be (N,C,H,W) tensors, got {getattr(batch, 'shape', type(batch))}")
    return batch if batch.dtype == torch.uint8 else quantize(batch)
