"""Inference with KDIT students: the one implementation behind ``gandistill translate`` (files) and
``gandistill.KDITStudent`` (in-memory images, which serve uses too).

    translate_images(I2IStudent.from_pretrained(d), ["a.png", "dir/"], "out/", reference="ref.png", k=6)
    translate_texts(X2IStudent.from_pretrained(d), ["a face with red hair"], "out/")
    translate_audio(X2IStudent.from_pretrained(d), ["clip.wav"], "out/")

:func:`i2i_outputs` and :func:`x2i_outputs` draw the seeded noise and run the student chunk by chunk; the
file writers above and the API both go through them, so a file and the same image in memory give the
same output for the same ``seed`` and ``batch``.

Inputs are centre-cropped and resized to the model's resolution (label maps with NEAREST; one warning
line names the images that are resized); outputs are PNGs named after the inputs, keeping their folder
layout (``data/inputs.py``; ``text-000.png`` … for captions), at the model's resolution, at ``size``
pixels, or at each input's own size (``size="input"``).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..data.audio import load_wav
from ..data.inputs import (input_entries, load_image_batch, match_references, output_paths, output_side,
                           save_output, warn_if_resized)
from ..data.labels import load_label_map
from ..errors import DataError, GandistillWarning
from ..io.pretrained import read_model_config
from ..utils.images import to_uint8
from ..utils.inference import inference, prepare_for_inference, to_channels_last
from ..utils.logging import progress_bar
from .i2i import I2IStudent
from .x2i import X2IStudent


def warn_untrained_appearance(model: I2IStudent) -> None:
    """One warning line when a from-scratch student (never distilled) takes its appearance from noise: its
    mapping network is untrained, so the colours are arbitrary."""
    source = getattr(model, "source_dir", None)
    extra = read_model_config(source).get("extra", {}) if source else {}
    if extra.get("from_scratch"):
        warnings.warn(f"{source} was fine-tuned from scratch (not distilled from a teacher), so without a reference "
                      "its appearance comes from an untrained mapping network; pass --reference IMG|DIR",
                      GandistillWarning, stacklevel=3)


@inference
def translate_images(model: I2IStudent, inputs: list[str | Path], output: str | Path,
                     reference: str | Path | None = None, k: int | None = None, batch: int = 16, seed: int = 0,
                     device: str | torch.device = "cpu", progress: bool = True,
                     size: int | str | None = None) -> list[Path]:
    """I2I student over image (or label-map) files; appearance from ``reference`` (one image, or a folder
    with one image per input, matched by name) or seeded noise. ``size``: output side in pixels, or
    ``"input"`` for each input's own size (default: the model's resolution)."""
    model = prepare_for_inference(model, device)
    entries = input_entries(inputs)
    files = [f for f, _ in entries]
    paths = [p[0] for p in output_paths(entries, output, inputs)]
    res = model.resolution
    check_crossover(model, k)
    refs = match_references(entries, reference) if reference else None
    if refs is None:
        warn_untrained_appearance(model)
    if model.config.input != "seg":
        warn_if_resized(files, res)
    chans = model.config.teacher.img_channels

    def chunks() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        for s in range(0, len(files), batch):  # one chunk in memory at a time
            if model.config.input == "seg":
                x = torch.stack([torch.from_numpy(load_label_map(f, model.config.num_classes, res).astype(np.int64))
                                 for f in files[s:s + batch]])
            else:
                x = load_image_batch(files[s:s + batch], res, chans)
            yield x, (load_image_batch(refs[s:s + batch], res, chans) if refs is not None else None)

    written = []
    bar = progress_bar(len(files), desc="translate", enabled=progress, unit="img")
    for s, y in zip(range(0, len(files), batch), i2i_outputs(model, chunks(), k, seed, device)):
        for f, path, img in zip(files[s:s + batch], paths[s:s + batch], to_uint8(y)):
            save_output(img, path, output_side(size, f, res))
            written.append(path)
        bar.update(len(y))
    bar.close()
    return written


def check_crossover(model: I2IStudent, k: int | None) -> None:
    """The crossover ``k`` (``--k``) picks ws rows of the reference, so it must lie in 0..num_ws."""
    if k is not None and not 0 <= k <= model.num_ws:
        raise DataError(f"k must be in 0..{model.num_ws} for this model, got {k}")


def i2i_outputs(model: I2IStudent, chunks: Iterable[tuple[torch.Tensor, torch.Tensor | None]], k: int | None,
                seed: int, device: str | torch.device) -> Iterator[torch.Tensor]:
    """Float outputs of each (input, reference-or-None) chunk; the appearance noise of inputs without a
    reference comes from one generator seeded with ``seed``, in input order. Call under inference mode."""
    gen = torch.Generator().manual_seed(seed)
    for x, ref in chunks:
        z = torch.randn(len(x), model.config.teacher.z_dim, generator=gen).to(device)
        # inputs in the network's layout: an NCHW image would make the encoders' first layers NCHW too
        yield model(to_channels_last(x.to(device)), None if ref is None else to_channels_last(ref.to(device)),
                    k=k, z_ref=z)


def x2i_outputs(model: X2IStudent, cond: torch.Tensor, samples: int, batch: int, seed: int,
                device: str | torch.device) -> Iterator[tuple[int, int, torch.Tensor]]:
    """``(first index, sample number, float outputs)`` for each chunk of ``batch`` conditions and each of
    ``samples`` noise draws (one generator seeded with ``seed``); ``cond`` is what :meth:`X2IStudent.encode`
    takes (images, text embeddings or waveforms). Call under inference mode."""
    gen = torch.Generator().manual_seed(seed)
    for s in range(0, len(cond), batch):
        c = model.encode(to_channels_last(cond[s:s + batch].to(device)))  # images: the network's layout
        for j in range(samples):
            z = torch.randn(c.shape[0], model.config.z_dim, generator=gen).to(device)
            yield s, j, model(None, z, c=c)


@inference
def _translate_conditions(model: X2IStudent, cond: torch.Tensor, paths: list[list[Path]], samples: int, batch: int,
                          seed: int, device, progress: bool, size: int | None = None) -> list[Path]:
    written = []
    bar = progress_bar(len(paths) * samples, desc="translate", enabled=progress, unit="img")
    for s, j, y in x2i_outputs(model, cond, samples, batch, seed, device):
        for out, img in zip(paths[s:s + batch], to_uint8(y)):
            save_output(img, out[j], size if isinstance(size, int) else None)
            written.append(out[j])
        bar.update(len(y))
    bar.close()
    return written


def _suffixes(samples: int) -> list[str]:
    return [""] if samples == 1 else [f"-{j:02d}" for j in range(samples)]


def translate_texts(model: X2IStudent, texts: list[str], output: str | Path, samples: int = 1, batch: int = 16,
                    seed: int = 0, device: str | torch.device = "cpu", progress: bool = True,
                    embedder=None, size: int | None = None) -> list[Path]:
    if model.config.condition != "text":
        raise DataError(f"this model is conditioned on {model.config.condition}, not text")
    from .text import SentenceEmbedder

    emb = (embedder or SentenceEmbedder.load()).encode(list(texts))
    out = Path(output)
    paths = [[out / f"text-{i:03d}{sfx}.png" for sfx in _suffixes(samples)] for i in range(len(texts))]
    return _translate_conditions(prepare_for_inference(model, device), emb, paths, samples, batch, seed, device, progress, size)


def translate_audio(model: X2IStudent, inputs: list[str | Path], output: str | Path, samples: int = 1,
                    batch: int = 16, seed: int = 0, device: str | torch.device = "cpu",
                    progress: bool = True, size: int | None = None) -> list[Path]:
    if model.config.condition != "audio":
        raise DataError(f"this model is conditioned on {model.config.condition}, not audio")
    entries = input_entries(inputs, "audio")
    paths = output_paths(entries, output, inputs, _suffixes(samples))
    waves = [torch.from_numpy(load_wav(f, model.config.sample_rate)) for f, _ in entries]
    length = min(len(w) for w in waves)
    cond = torch.stack([w[:length] for w in waves])
    return _translate_conditions(prepare_for_inference(model, device), cond, paths, samples, batch, seed, device, progress, size)
