"""What the page's buttons do, without Gradio: validate the uploads, run the chosen model, and turn
every failure into one line of text for the page (the traceback goes to the server log only)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.images import resize_square
from ..data.labels import resize_label
from ..errors import GandistillError
from .models import ModelEntry, ModelRegistry
from .validate import (
    UploadLimits,
    check_audio,
    check_caption,
    check_image,
    check_label_map,
)

log = logging.getLogger("gandistill.serve")


@dataclass
class Request:
    """One click of "Translate": the model label and whatever the visible inputs hold."""

    model: str | None
    image: str | None = None
    reference: str | None = None
    label_map: str | None = None
    caption: str | None = None
    audio: str | None = None
    k: int | None = None
    seed: int = 0

    def uploads(self) -> list[str]:
        return [p for p in (self.image, self.reference, self.label_map, self.audio) if p]


# The package's messages speak to command-line users; a page visitor uploads files and cannot pass options.
PAGE_WORDING = [
    (re.compile(r"; re-export or delete it"), "; save it again as PNG or JPEG and upload that"),
    (re.compile(r"; re-export it"), "; save it again and upload that"),
    (re.compile(r" \(convert it: `[^`]*`\)"), "; convert it and upload that"),
    (re.compile(r"; convert it: `[^`]*`"), "; convert it to 16-bit PCM WAV and upload that"),
    (re.compile(r"; check the path"), "; upload it again"),
    (re.compile(r"fix the file or raise num_classes"), "fix the label map"),
    (re.compile(r"downscale it, or raise max_pixels if the file is trusted"), "downscale it and upload that"),
    (re.compile(r"re-export the model"), "the server's copy of this model is damaged; choose another model"),
]


def page_wording(text: str) -> str:
    """``text`` with command-line advice (options, shell commands) replaced by what a visitor can do."""
    for pattern, replacement in PAGE_WORDING:
        text = pattern.sub(replacement, text)
    return text


def public_message(exc: BaseException, uploads: list[str]) -> str:
    """The error text for the page: server-side upload paths shortened to the file's name, page wording."""
    if isinstance(exc, GandistillError):
        text = str(exc)
    elif isinstance(exc, (OSError, ValueError)):
        text = f"the input could not be used ({type(exc).__name__}: {exc})"
    else:
        text = "the server failed on this input; the details are in its log"
    for p in sorted(uploads, key=len, reverse=True):
        text = text.replace(str(Path(p)), Path(p).name).replace(str(Path(p).parent), "")
    return page_wording(text)


def _hwc(img: torch.Tensor) -> np.ndarray:
    """uint8 [1, C, H, W] → (H, W, 3) uint8 for display."""
    arr = img[0].permute(1, 2, 0).cpu().numpy()
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr


class Translator:
    """Runs requests against a :class:`ModelRegistry` within :class:`UploadLimits`."""

    def __init__(self, registry: ModelRegistry, limits: UploadLimits | None = None, embedder: Any = None):
        self.registry = registry
        self.limits = limits or UploadLimits()
        self._embedder = embedder  # MiniLM, loaded on the first caption

    def _image(self, path: str | None, entry: ModelEntry, what: str, channels: int = 3) -> np.ndarray:
        # a writable copy: torch warns on the read-only arrays that PIL hands out
        return np.array(resize_square(check_image(path, self.limits, what, channels), entry.resolution))

    def _reference(self, path: str | None, entry: ModelEntry, channels: int) -> np.ndarray | None:
        return self._image(path, entry, "reference image", channels) if path else None

    def embedder(self) -> Any:
        if self._embedder is None:
            from ..kdit.text import SentenceEmbedder

            self._embedder = SentenceEmbedder.load()
        return self._embedder

    @torch.no_grad()
    def run(self, req: Request) -> np.ndarray:
        """The translated image (H, W, 3) uint8; raises GandistillError / OSError with a page message."""
        entry, model = self.registry.load(req.model)
        kind, seed = entry.kind, int(req.seed or 0)
        if kind in ("image", "seg"):
            channels = entry.config.get("teacher", {}).get("img_channels", 3)
            if kind == "seg":
                labels = check_label_map(req.label_map, int(entry.config.get("num_classes", 8)), self.limits)
                x: Any = torch.from_numpy(np.array(resize_label(labels, entry.resolution)))[None]
            else:
                x = self._image(req.image, entry, "photo", channels)
            ref = self._reference(req.reference, entry, channels)
            return _hwc(model.translate(x, reference=ref, k=None if req.k is None else int(req.k), seed=seed))
        if kind == "text":
            caption = check_caption(req.caption, self.limits)
            return _hwc(model.generate_from_text([caption], seed=seed, embedder=self.embedder()))
        if kind == "audio":
            wave = check_audio(req.audio, int(entry.config.get("sample_rate", 16000)), self.limits)
            return _hwc(model.generate_from_audio([wave], seed=seed))
        if kind == "x2i-image":
            return _hwc(model.translate(self._image(req.image, entry, "photo"), seed=seed))
        return _hwc(model(self._image(req.image, entry, "photo")))  # gpd

    def safe_run(self, req: Request) -> tuple[np.ndarray | None, str]:
        """(image, "") on success, (None, message) on any failure; never raises."""
        try:
            return self.run(req), ""
        except Exception as exc:  # the page must get a message, whatever failed
            if not isinstance(exc, GandistillError):
                log.exception("serve: translating with %r failed", req.model)
            return None, public_message(exc, req.uploads())

    def preview(self, path: str | None, model: str | None, what: str) -> tuple[np.ndarray | None, str]:
        """What an upload will look like to the model (label maps in colour), or a message."""
        if not path:
            return None, ""
        try:
            entry = self.registry.entry(model) if model else None
            if what == "label map":
                from ..data.toyfaces import seg_to_rgb

                classes = int(entry.config.get("num_classes", 8)) if entry and entry.kind == "seg" else 256
                return seg_to_rgb(check_label_map(path, classes, self.limits)), ""
            img = check_image(path, self.limits, what)
            return (resize_square(img, entry.resolution) if entry else img), ""
        except Exception as exc:  # a message, never a traceback
            if not isinstance(exc, GandistillError):
                log.exception("serve: preview of an upload failed")
            return None, public_message(exc, [path])
