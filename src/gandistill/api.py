"""The Python API in one place: thin, typed facades over the stages the ``gandistill`` CLI runs.

Every name here (and the stage functions) is also importable from the package root, lazily::

    from gandistill import sample, KDITStudent, GPDStudent, TripletSampler
    from gandistill import train_teacher, distill, finetune, adapt, compute_anchors, evaluate, import_checkpoint

Images come back as ``uint8`` tensors ``[N, C, H, W]`` (what a PNG holds). Inputs may be file
paths / folders, ``uint8`` arrays or tensors (HWC, NHWC, CHW or NCHW) or float tensors in [-1, 1]
(``[C, H, W]`` or ``[N, C, H, W]``; NaN or infinite values are refused). Files and in-memory images
are treated alike, as ``gandistill translate`` does: centre-cropped and resized to the model's
resolution, and the result comes back at that resolution, at ``size`` pixels, or at each input's
own size with ``size="input"``.

The examples assume model directories made by the CLI, e.g. ``teacher_dir = "runs/teacher32/model"``
(``gandistill teacher train``), ``i2i_dir = "runs/ft-image/model"``, ``seg_dir = "runs/ft-seg/model"``,
``text_dir = "runs/ft-text/model"``, ``audio_dir = "runs/ft-audio/model"`` (``gandistill kdit ...``)
and ``gpd_dir = "runs/student/model"`` (``gandistill gpd distill``); ``photo`` is an image file.
tests/test_api.py runs them on tiny models.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import DataError
from .utils.inference import inference, prepare_for_inference

PathLike = str | Path
#: one path/folder, several, or images already in memory
ImageInput = PathLike | Sequence[PathLike] | np.ndarray | torch.Tensor

__all__ = ["GPDStudent", "ImageInput", "KDITStudent", "distill", "load_images", "sample"]


# ----------------------------------------------------------------------------------------------- inputs

def _is_paths(x: Any) -> bool:
    if isinstance(x, (str, Path)):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(p, (str, Path)) for p in x)


def _expand(paths: PathLike | Sequence[PathLike], kind: str = "image") -> list[Path]:
    from .data.inputs import expand_inputs

    return expand_inputs([paths] if isinstance(paths, (str, Path)) else list(paths), kind)


def _to_nchw(x: torch.Tensor) -> torch.Tensor:
    """uint8 HW / HWC / CHW / NHWC / NCHW or float CHW / NCHW → [N, C, H, W] float in [-1, 1]."""
    if x.dtype == torch.uint8:
        if x.ndim == 2:
            x = x[None, None]
        elif x.ndim == 3:
            x = x.permute(2, 0, 1)[None] if x.shape[-1] in (1, 3, 4) and x.shape[0] not in (1, 3) else x[None]
        elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3):
            x = x.permute(0, 3, 1, 2)
        if x.ndim != 4:
            raise DataError(f"images must be HW, HWC, CHW, NHWC or NCHW uint8, got shape {list(x.shape)}")
        if x.shape[1] == 4:  # RGBA: drop alpha
            x = x[:, :3]
        return x.float() / 127.5 - 1.0
    if not x.dtype.is_floating_point:
        raise DataError(f"images must be uint8 or float in [-1, 1], got {x.dtype}")
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise DataError(f"float images must be [C, H, W] or [N, C, H, W] in [-1, 1], got shape {list(x.shape)}")
    bad = ~torch.isfinite(x)
    if bad.any():
        raise DataError(f"the images hold {int(bad.sum())} NaN or infinite value(s); pass finite floats in [-1, 1] "
                        "(or uint8)")
    return x.float()


def _as_image_tensor(inputs: Any) -> torch.Tensor:
    """An in-memory image input → one tensor, or a DataError saying what was wrong with it."""
    usage = "pass a file, a folder, a list of paths, or images as a uint8/float array or tensor"
    if inputs is None:
        raise DataError(f"no images given (got None); {usage}")
    if isinstance(inputs, (list, tuple)):
        if not inputs:
            raise DataError(f"no images given (an empty list); {usage}")
        kinds = {"path" if isinstance(v, (str, Path)) else "image" if isinstance(v, (np.ndarray, torch.Tensor))
                 else type(v).__name__ for v in inputs}
        if len(kinds) > 1 or kinds - {"path", "image"}:
            raise DataError(f"a list of inputs must be all paths or all images (arrays/tensors of one size), got "
                            f"{', '.join(sorted(kinds))}; {usage}")
        items = [torch.as_tensor(v) for v in inputs]
        if len({(t.dtype, tuple(t.shape)) for t in items}) > 1:
            raise DataError("the images in a list must share one size and dtype, got "
                            f"{sorted({tuple(t.shape) for t in items})}; resize them or pass them one at a time")
        return torch.stack(items)
    if not isinstance(inputs, (np.ndarray, torch.Tensor)):
        raise DataError(f"cannot read images from a {type(inputs).__name__}; {usage}")
    try:
        return torch.as_tensor(inputs)
    except (TypeError, RuntimeError, ValueError) as exc:  # e.g. an object-dtype numpy array
        raise DataError(f"cannot read images from this {type(inputs).__name__} ({exc}); {usage}") from None


def _check_images(x: torch.Tensor) -> None:
    if x.shape[0] == 0:
        raise DataError("no images given (a batch of 0)")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise DataError(f"images of size {x.shape[-1]}×{x.shape[-2]} hold no pixels")


def load_images(inputs: ImageInput, resolution: int | None = None, channels: int = 3) -> torch.Tensor:
    """Images of any accepted form → float ``[N, channels, H, W]`` in [-1, 1].

    Files, folders and in-memory images alike are centre-cropped and resized to ``resolution`` (when
    given; in-memory images of that size are used as they are). Grey images are repeated to RGB when
    ``channels`` is 3.

    >>> load_images(np.zeros((16, 16, 3), np.uint8)).shape
    torch.Size([1, 3, 16, 16])
    """
    if _is_paths(inputs):
        from .data.inputs import load_image_batch

        x = load_image_batch(_expand(inputs), resolution, channels)  # type: ignore[arg-type]
    else:
        x = _to_nchw(_as_image_tensor(inputs))
        _check_images(x)  # before resizing: an empty batch or a 0×0 image has nothing to resize
        if resolution:
            from .data.inputs import resize_batch

            x = resize_batch(x, resolution)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def _input_sides(inputs: ImageInput, labels: bool = False) -> list[int]:
    """The side of each input's centre square (files: from the header), for ``size="input"``."""
    if _is_paths(inputs):
        from .data.images import image_header

        return [min(image_header(f)[:2]) for f in _expand(inputs)]  # type: ignore[arg-type]
    x = torch.as_tensor(inputs)
    if labels:  # [H, W] / [N, H, W] indices or [N, K, H, W] one-hot
        return [min(x.shape[-2:])] * (1 if x.ndim == 2 else x.shape[0])
    n = _to_nchw(x)
    return [min(n.shape[-2:])] * n.shape[0]


def _sized(out: torch.Tensor, size: int | str | None, inputs: ImageInput,
           labels: bool = False) -> torch.Tensor | list[torch.Tensor]:
    """Model outputs at ``size`` (None: as they are; ``"input"``: each at its input's size — a list when
    those differ)."""
    from .data.inputs import SIZE_INPUT, parse_size, resize_output

    size = parse_size(size)
    if not size:
        return out
    sides = _input_sides(inputs, labels) if size == SIZE_INPUT else [int(size)] * len(out)
    imgs = [resize_output(img, side) for img, side in zip(out, sides)]
    return torch.stack(imgs) if len(set(sides)) == 1 else imgs


def _to_uint8(img: torch.Tensor) -> torch.Tensor:
    from .utils.images import to_uint8

    return to_uint8(img).cpu()


# ----------------------------------------------------------------------------------------------- teacher

@inference
def sample(teacher_dir: PathLike, seeds: int | str | Sequence[int], psi: float = 1.0, noise_mode: str = "const",
           device: str | torch.device = "cpu", batch: int = 16) -> torch.Tensor:
    """Images of a teacher (or an adapted teacher) for the given seeds, as ``gandistill teacher sample``.

    ``seeds``: a list of ints, one int, or a string such as ``"0-3,10"``. The same seed always gives the
    same image. Returns uint8 ``[len(seeds), C, R, R]``.

    >>> imgs = sample(teacher_dir, seeds=[0, 1, 2], psi=0.7)
    >>> imgs.dtype, imgs.shape[0]
    (torch.uint8, 3)
    >>> bool((sample(teacher_dir, "1", psi=0.7)[0] == imgs[1]).all())        # a seed names an image
    True
    """
    from .teacher import Generator
    from .teacher.sample import parse_seeds, sample_seeds

    from .models import resolve_model

    resolve_model(teacher_dir, ("teacher", "generator"), "a teacher", "gandistill.sample")
    seed_list = parse_seeds(seeds, "seeds") if isinstance(seeds, str) else [seeds] if isinstance(seeds, int) else list(seeds)
    G = prepare_for_inference(Generator.from_pretrained(teacher_dir), device)
    return _to_uint8(sample_seeds(G, seed_list, psi=psi, noise_mode=noise_mode, batch=batch))


# ----------------------------------------------------------------------------------------------- KDIT

class KDITStudent:
    """A KDIT student (``I2IStudent`` or ``X2IStudent`` model directory) behind one interface.

    - image → image / seg → image (I2I): :meth:`translate` (``reference`` gives the appearance);
    - text → image / audio → image (X2I): :meth:`generate_from_text` / :meth:`generate_from_audio`;
    - a distilled image-conditioned X2I student: :meth:`translate` without a reference.

    Outputs match ``gandistill translate`` for the same ``seed`` and ``batch``.

    >>> student = KDITStudent.from_pretrained(i2i_dir)
    >>> student.kind, student.modality
    ('i2i', 'image')
    >>> out = student.translate([photo], reference=photo)
    >>> out.dtype, tuple(out.shape[1:]) == (3, student.resolution, student.resolution)
    (torch.uint8, True)
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = prepare_for_inference(model, self.device)

    @classmethod
    def from_pretrained(cls, directory: PathLike, device: str | torch.device = "cpu") -> KDITStudent:
        """Load an ``I2IStudent`` or ``X2IStudent`` directory; any other class is a CheckpointError."""
        from .models import load_model

        return cls(load_model(directory, ("kdit-i2i", "kdit-x2i"), "a KDIT student", "KDITStudent"), device)

    @property
    def kind(self) -> str:
        """``"i2i"`` or ``"x2i"``."""
        return "i2i" if self.model.model_kind == "kdit-i2i" else "x2i"

    @property
    def modality(self) -> str:
        """What the student is conditioned on: ``image``, ``seg``, ``text`` or ``audio``."""
        cfg = self.model.config
        return cfg.input if self.kind == "i2i" else cfg.condition

    @property
    def resolution(self) -> int:
        return self.model.resolution

    def _wrong(self, method: str) -> DataError:
        right = {"image": "translate", "seg": "translate", "text": "generate_from_text",
                 "audio": "generate_from_audio"}[self.modality]
        return DataError(f"this KDIT student ({self.kind}) is conditioned on {self.modality}; "
                         f"{method}() does not apply — use .{right}()")

    def _conditions(self, inputs: ImageInput) -> torch.Tensor:
        if self.modality != "seg":
            return load_images(inputs, self.resolution, self.model.config.teacher.img_channels)
        if _is_paths(inputs):
            from .data.labels import load_label_map

            return torch.stack([torch.from_numpy(load_label_map(f, self.model.config.num_classes, self.resolution)
                                                 .astype(np.int64)) for f in _expand(inputs)])  # type: ignore[arg-type]
        x = torch.as_tensor(inputs)
        if x.dtype.is_floating_point:
            return x if x.ndim == 4 else x[None]  # one-hot maps
        return (x[None] if x.ndim == 2 else x).long()

    @inference
    def translate(self, inputs: ImageInput, reference: ImageInput | None = None, k: int | None = None,
                  seed: int = 0, batch: int = 16, size: int | str | None = None) -> torch.Tensor:
        """Translate images (or label maps for a seg student) → uint8 ``[N, 3, R, R]``.

        ``inputs``: image / label-map files or folders, or in-memory images (label maps: integer
        ``[H, W]`` / ``[N, H, W]``). ``reference``: one appearance image, one per input, or (with file
        inputs) a folder holding one per input with the same name; without it the appearance comes
        from seeded noise through the teacher's mapping. ``k``: crossover (ws rows ≥ k come from the
        reference; default num_ws/2). ``size``: output side (default R), or ``"input"`` for each
        input's own size (a list of tensors when those differ).

        >>> seg = KDITStudent.from_pretrained(seg_dir)
        >>> labels = torch.zeros(2, seg.resolution, seg.resolution, dtype=torch.uint8)
        >>> seg.translate(labels, seed=0).shape[0]
        2
        """
        from .kdit.translate import check_crossover, i2i_outputs, warn_untrained_appearance

        m = self.model
        if self.kind == "x2i" and self.modality != "image":
            raise self._wrong("translate")
        x = self._conditions(inputs)
        if self.kind == "x2i":
            if reference is not None:
                raise DataError("an image-conditioned X2I student takes no reference")
            return _sized(self._generate(x, seed, batch), size, inputs)
        check_crossover(m, k)
        ref = None
        if reference is None:
            warn_untrained_appearance(m)
        elif _is_paths(inputs) and isinstance(reference, (str, Path)) and Path(reference).is_dir():
            from .data.inputs import input_entries, match_references

            refs = match_references(input_entries(inputs), reference)  # type: ignore[arg-type]
            ref = load_images(refs, self.resolution, m.config.teacher.img_channels).to(self.device)
        else:
            ref = load_images(reference, self.resolution, m.config.teacher.img_channels).to(self.device)
        if ref is not None:
            if ref.shape[0] == 1:
                ref = ref.expand(x.shape[0], -1, -1, -1)
            elif ref.shape[0] != x.shape[0]:
                raise DataError(f"got {x.shape[0]} inputs but {ref.shape[0]} references; pass one, or one per input")
        chunks = ((x[s:s + batch], ref[s:s + batch] if ref is not None else None) for s in range(0, len(x), batch))
        outs = list(i2i_outputs(m, chunks, k, seed, self.device))
        return _sized(_to_uint8(torch.cat(outs)), size, inputs, labels=self.modality == "seg")

    @inference
    def _generate(self, cond: torch.Tensor, seed: int, batch: int) -> torch.Tensor:
        from .kdit.translate import x2i_outputs

        return _to_uint8(torch.cat([y for _, _, y in x2i_outputs(self.model, cond, 1, batch, seed, self.device)]))

    def generate_from_text(self, captions: str | Sequence[str], seed: int = 0, batch: int = 16,
                           embedder=None) -> torch.Tensor:
        """Captions → uint8 ``[N, 3, R, R]`` (a text X2I student; MiniLM embeds the captions).

        >>> KDITStudent.from_pretrained(text_dir).generate_from_text(["a smiling face with red hair"]).shape[0]
        1
        """
        if self.modality != "text":
            raise self._wrong("generate_from_text")
        captions = [captions] if isinstance(captions, str) else list(captions)
        if embedder is None:
            from .kdit.text import SentenceEmbedder

            embedder = SentenceEmbedder.load()
        return self._generate(embedder.encode(captions), seed, batch)

    def generate_from_audio(self, clips: PathLike | Sequence[PathLike | np.ndarray | torch.Tensor] | np.ndarray
                            | torch.Tensor, seed: int = 0, batch: int = 16) -> torch.Tensor:
        """WAV files / folders or mono waveforms (float, at the model's sample rate, 16 kHz by default)
        → uint8 ``[N, 3, R, R]``. Clips are cut to the shortest one, as ``gandistill translate --audio``.

        >>> import numpy as np
        >>> clip = np.sin(np.linspace(0, 2000, 16000)).astype(np.float32)
        >>> KDITStudent.from_pretrained(audio_dir).generate_from_audio([clip, clip]).shape[0]
        2
        """
        if self.modality != "audio":
            raise self._wrong("generate_from_audio")
        from .data.audio import load_wav

        rate = self.model.config.sample_rate
        if isinstance(clips, (np.ndarray, torch.Tensor)):
            items: list = list(torch.as_tensor(clips)) if torch.as_tensor(clips).ndim == 2 else [clips]
        elif isinstance(clips, (str, Path)):
            items = [clips]
        else:
            items = list(clips)
        waves: list[torch.Tensor] = []
        for item in items:
            if isinstance(item, (str, Path)):
                waves += [torch.from_numpy(load_wav(f, rate)) for f in _expand([item], "audio")]
            else:
                from .data.audio import check_waveform

                w = torch.as_tensor(item, dtype=torch.float32)
                waves.append(torch.from_numpy(check_waveform(w.cpu().numpy(), rate, f"waveform {len(waves)}")))
        if not waves:
            raise DataError("no audio clips given")
        length = min(len(w) for w in waves)
        return self._generate(torch.stack([w[:length] for w in waves]), seed, batch)


# ----------------------------------------------------------------------------------------------- GPD

class GPDStudent:
    """A GPD student translator (``gandistill gpd distill`` output), callable on images.

    >>> student = GPDStudent.from_pretrained(gpd_dir)
    >>> out = student(photo)                                   # a file, a folder, or a list of them
    >>> out.dtype, out.shape[-1] == student.resolution
    (torch.uint8, True)
    >>> student(torch.zeros(2, 3, 64, 64)).shape               # float in [-1, 1], resized like a file
    torch.Size([2, 3, 16, 16])
    >>> student(torch.zeros(2, 3, 64, 64), size="input").shape # written back at the input's size
    torch.Size([2, 3, 64, 64])
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = prepare_for_inference(model, self.device)

    @classmethod
    def from_pretrained(cls, directory: PathLike, device: str | torch.device = "cpu") -> GPDStudent:
        """Load a ``UNetTranslator`` / ``ResNetTranslator`` directory; any other class is a CheckpointError."""
        from .models import load_model

        student = cls(load_model(directory, ("gpd-student",), "a GPD student", "GPDStudent"), device)
        student.directory = Path(directory)
        return student

    @property
    def resolution(self) -> int:
        """The training resolution (files are resized to it)."""
        return self.model.config.resolution

    @inference
    def __call__(self, images: ImageInput, batch: int = 16, size: int | str | None = None) -> torch.Tensor:
        """Translate images → uint8 ``[N, C_out, R, R]``; ``size``: output side, or ``"input"`` for each
        input's own size (a list of tensors when those differ)."""
        x = load_images(images, self.resolution, self.model.config.in_channels)
        if self.model.config.in_channels == 1 and x.shape[1] == 3:
            x = x.mean(1, keepdim=True)
        return _sized(_to_uint8(torch.cat([self.model(xb.to(self.device)) for xb in x.split(batch)])), size, images)

    def export(self, fmt: str = "torchscript", out: PathLike | None = None) -> Path:
        """TorchScript (or ONNX, with ``pip install 'gandistill[onnx]'``) for deployment; see ``gandistill gpd export``."""
        from .gpd.translate import export_student

        return export_student(self.directory, fmt, out)


# ----------------------------------------------------------------------------------------------- stages

def distill(cfg, dry_run: bool = False) -> Path:
    """Run KDIT or GPD distillation, chosen by the config's type; returns the run's model directory.

    ``gandistill.KDITDistillConfig`` (``gandistill kdit distill``) or ``gandistill.GPDDistillConfig``
    (``gandistill gpd distill``)::

        from gandistill import distill, KDITDistillConfig, GPDDistillConfig
        distill(KDITDistillConfig(teacher="runs/teacher/model", student="i2i", out="runs/kdit-i2i"))
        distill(GPDDistillConfig(adapted="runs/adapt/model", anchors="runs/adapt/anchors.safetensors",
                                 kd="anchor", out="runs/student"))
    """
    from .gpd.config import GPDDistillConfig
    from .kdit.distill import DistillConfig as KDITConfig

    if isinstance(cfg, GPDDistillConfig):
        from .gpd.distill import distill as run
    elif isinstance(cfg, KDITConfig):
        from .kdit.distill import distill as run  # type: ignore[assignment]
    else:
        raise TypeError(f"distill() takes a KDITDistillConfig or a GPDDistillConfig, got {type(cfg).__name__}")
    return run(cfg, dry_run=dry_run)
