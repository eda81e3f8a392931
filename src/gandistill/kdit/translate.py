"""Inference with KDIT students (used by ``gandistill translate``).

    translate_images(I2IStudent.from_pretrained(d), ["a.png", "dir/"], "out/", reference="ref.png", k=6)
    translate_texts(X2IStudent.from_pretrained(d), ["a face with red hair"], "out/")
    translate_audio(X2IStudent.from_pretrained(d), ["clip.wav"], "out/")

Inputs are centre-cropped and resized to the model's resolution (label maps with NEAREST);
outputs are PNGs named after the inputs (``text-000.png`` … for captions).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.audio import load_wav
from ..data.inputs import expand_inputs, load_image_batch
from ..data.labels import load_label_map
from ..errors import DataError
from ..utils.images import make_grid, save_image
from ..utils.inference import inference, prepare_for_inference
from ..utils.logging import progress_bar
from .i2i import I2IStudent
from .x2i import X2IStudent


def _save(img: torch.Tensor, path: Path) -> None:
    save_image(make_grid(img[None], nrow=1, pad=0), path)


@inference
def translate_images(model: I2IStudent, inputs: list[str | Path], output: str | Path,
                     reference: str | Path | None = None, k: int | None = None, batch: int = 16, seed: int = 0,
                     device: str | torch.device = "cpu", progress: bool = True) -> list[Path]:
    """I2I student over image (or label-map) files; appearance from ``reference`` or seeded noise."""
    model = prepare_for_inference(model, device)
    files = expand_inputs(inputs)
    res = model.resolution
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    ref = load_image_batch([reference], res).to(device) if reference else None
    if k is not None and not 0 <= k <= model.num_ws:
        raise DataError(f"--k must be in 0..{model.num_ws} for this model, got {k}")
    gen = torch.Generator().manual_seed(seed)
    written = []
    bar = progress_bar(len(files), desc="translate", enabled=progress)
    for s in range(0, len(files), batch):
        chunk = files[s:s + batch]
        if model.config.input == "seg":
            x = torch.stack([torch.from_numpy(load_label_map(f, model.config.num_classes, res).astype(np.int64))
                             for f in chunk])
        else:
            x = load_image_batch(chunk, res)
        z = torch.randn(len(chunk), model.config.teacher.z_dim, generator=gen).to(device)
        y = model(x.to(device), ref.expand(len(chunk), -1, -1, -1) if ref is not None else None, k=k, z_ref=z)
        for f, img in zip(chunk, y):
            path = out / f"{f.stem}.png"
            _save(img, path)
            written.append(path)
        bar.update(len(chunk))
    bar.close()
    return written


@inference
def _translate_conditions(model: X2IStudent, cond: torch.Tensor, names: list[str], output: str | Path,
                          samples: int, batch: int, seed: int, device, progress: bool) -> list[Path]:
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    written = []
    bar = progress_bar(len(names) * samples, desc="translate", enabled=progress)
    for s in range(0, len(names), batch):
        c = model.encode(cond[s:s + batch].to(device))
        for j in range(samples):
            z = torch.randn(c.shape[0], model.config.z_dim, generator=gen).to(device)
            y = model(None, z, c=c)
            for name, img in zip(names[s:s + batch], y):
                path = out / (f"{name}.png" if samples == 1 else f"{name}-{j:02d}.png")
                _save(img, path)
                written.append(path)
            bar.update(c.shape[0])
    bar.close()
    return written


def translate_texts(model: X2IStudent, texts: list[str], output: str | Path, samples: int = 1, batch: int = 16,
                    seed: int = 0, device: str | torch.device = "cpu", progress: bool = True,
                    embedder=None) -> list[Path]:
    if model.config.condition != "text":
        raise DataError(f"this model is conditioned on {model.config.condition}, not text")
    from .text import SentenceEmbedder

    emb = (embedder or SentenceEmbedder.load()).encode(list(texts))
    names = [f"text-{i:03d}" for i in range(len(texts))]
    return _translate_conditions(prepare_for_inference(model, device), emb, names, output, samples, batch, seed, device, progress)


def translate_audio(model: X2IStudent, inputs: list[str | Path], output: str | Path, samples: int = 1,
                    batch: int = 16, seed: int = 0, device: str | torch.device = "cpu",
                    progress: bool = True) -> list[Path]:
    if model.config.condition != "audio":
        raise DataError(f"this model is conditioned on {model.config.condition}, not audio")
    files = expand_inputs(inputs, "audio")
    waves = [torch.from_numpy(load_wav(f, model.config.sample_rate)) for f in files]
    length = min(len(w) for w in waves)
    cond = torch.stack([w[:length] for w in waves])
    return _translate_conditions(prepare_for_inference(model, device), cond, [f.stem for f in files], output, samples, batch,
                                 seed, device, progress)
