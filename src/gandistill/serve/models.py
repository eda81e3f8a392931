"""Model directories offered by ``gandistill serve``: found by scanning roots once, loaded on demand.

The page only ever sends back a *label* from the scan; :meth:`ModelRegistry.entry` maps it to a
directory that was found under a root, so no path typed by a visitor is ever opened.
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, DataError
from ..io.pretrained import CONFIG_NAME, WEIGHTS_NAME

#: registry kinds (``gandistill.io.registry``) of the models the page can run
SERVABLE_KINDS = ("kdit-i2i", "kdit-x2i", "gpd-student")
# what each kind of model takes, shown under the model picker
KIND_HELP = {
    "image": "KDIT image → image: upload a photo or sketch; optionally a reference image for the appearance "
             "(style rows ≥ k come from it).",
    "seg": "KDIT segmentation → image: upload a label map (single-channel PNG whose pixel values are class "
           "indices 0 … {num_classes_minus_1}); optionally a reference image for the appearance.",
    "text": "KDIT text → image: type a caption.",
    "audio": "KDIT audio → image: upload a short mono PCM WAV clip at {sample_rate} Hz.",
    "x2i-image": "KDIT image-conditioned X2I (distilled, not fine-tuned): upload an image.",
    "gpd": "GPD student: upload a photo to translate into the learned style.",
}
_SKIP_DIRS = {"checkpoints", "samples", "tensorboard", "__pycache__", "node_modules"}


@dataclass(frozen=True)
class ModelEntry:
    """One servable model directory found by the scan."""

    label: str
    path: Path
    cls: str
    kind: str  # image | seg | text | audio | x2i-image | gpd
    config: dict[str, Any]
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # config.json "extra" (stage, input domain)

    @property
    def title(self) -> str:
        """A readable name for the model picker, e.g. ``kdit-finetune (KDIT sketch→image, 32 px)``."""
        name = self.path.parent.name if self.path.name == "model" and self.path.parent.name else self.path.name
        return f"{name} ({self.summary()}, {self.resolution} px)"

    def summary(self) -> str:
        if self.kind == "image":
            distilled = ", distilled" if self.extra.get("stage") == "distill" else ""
            return f"KDIT {self.extra.get('input_domain') or 'image'}→image{distilled}"
        return {"seg": "KDIT segmentation→image", "text": "KDIT text→image", "audio": "KDIT audio→image",
                "x2i-image": "KDIT image-conditioned, distilled", "gpd": "GPD translator"}[self.kind]

    def describe(self) -> str:
        cfg = self.config
        num_classes = int(cfg.get("num_classes", 8))
        text = KIND_HELP[self.kind].format(num_classes_minus_1=num_classes - 1,
                                           sample_rate=cfg.get("sample_rate", 16000))
        return f"**{self.cls}** at {self.resolution} px — {text}"

    def k_range(self) -> tuple[int, int]:
        """(num_ws, default crossover k) of a KDIT I2I student, from its saved teacher config."""
        from ..options import from_dict
        from ..teacher.config import StyleGAN2Config

        num_ws = from_dict(StyleGAN2Config, self.config.get("teacher", {}), strict=False).num_ws
        k = self.config.get("k")
        return num_ws, int(k) if k is not None else num_ws // 2

    @property
    def resolution(self) -> int:
        cfg = self.config
        return int(cfg["resolution"] if "resolution" in cfg else cfg.get("teacher", {}).get("resolution", 0))


def _servable(cls: Any) -> str | None:
    """The registry kind of class name ``cls`` when the page can run it, else None."""
    from ..models import model_class

    model = model_class(cls) if isinstance(cls, str) else None
    return model.model_kind if model is not None and model.model_kind in SERVABLE_KINDS else None


def model_kind(cls: str, config: dict[str, Any]) -> str:
    """The page layout a model needs, from its config.json ``class`` and ``config``."""
    kind = _servable(cls)
    if kind == "kdit-i2i":
        return "seg" if config.get("input") == "seg" else "image"
    if kind == "kdit-x2i":
        cond = config.get("condition", "image")
        return "x2i-image" if cond == "image" else cond
    if kind == "gpd-student":
        return "gpd"
    from ..models import classes_of_kind

    raise CheckpointError(f"class {cls!r} cannot be served; servable: {', '.join(classes_of_kind(SERVABLE_KINDS))}")


def _read_entry(directory: Path, label: str) -> ModelEntry | None:
    """A ModelEntry when ``directory`` holds a servable model, else None (never raises on odd files)."""
    try:
        meta = json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cls = meta.get("class") if isinstance(meta, dict) else None
    if _servable(cls) is None or not (directory / WEIGHTS_NAME).is_file():
        return None
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    return ModelEntry(label, directory, cls, model_kind(cls, config), config, extra)


def scan_models(roots: list[str | Path], max_depth: int = 6) -> dict[str, ModelEntry]:
    """Every servable model directory under ``roots`` (a root may itself be one), by label.

    Labels are paths relative to their root, prefixed with the root's name when several roots are given.
    Hidden folders, checkpoints/samples/tensorboard folders and symlinks leaving a root are skipped.
    """
    found: dict[str, ModelEntry] = {}
    resolved = [Path(r).resolve() for r in roots]
    for root in resolved:
        if not root.is_dir():
            raise DataError(f"--models {root} is not a folder; pass folders that contain model directories")
        for here, dirs, files in os.walk(root, followlinks=False):
            rel = Path(here).relative_to(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                             and len(rel.parts) < max_depth)
            if CONFIG_NAME not in files:
                continue
            label = rel.as_posix() if rel.parts else root.name
            if len(resolved) > 1 and rel.parts:
                label = f"{root.name}/{label}"
            entry = _read_entry(Path(here), label)
            if entry is not None and is_within(entry.path, resolved):
                found[label] = entry
    return dict(sorted(found.items()))


def is_within(path: str | Path, roots: list[Path]) -> bool:
    """True if ``path`` (symlinks resolved) lies inside one of ``roots``."""
    real = Path(path).resolve()
    return any(real == r or r in real.parents for r in roots)


class ModelRegistry:
    """The scanned models plus a small LRU cache of loaded facades (KDITStudent / GPDStudent)."""

    def __init__(self, roots: list[str | Path], device: str = "cpu", cache_size: int = 3):
        self.roots = [Path(r).resolve() for r in roots]
        self.entries = scan_models(self.roots)
        self.device = device
        self.cache_size = max(1, cache_size)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()  # gradio runs handlers in worker threads

    @property
    def labels(self) -> list[str]:
        return list(self.entries)

    def choices(self) -> list[tuple[str, str]]:
        """(readable title, label) for the model picker; a title that two models share gets its label added."""
        titles = [e.title for e in self.entries.values()]
        return [(t if titles.count(t) == 1 else f"{t} [{label}]", label) for t, label in zip(titles, self.entries)]

    def entry(self, label: str | None) -> ModelEntry:
        """The scanned entry for a label from the page; anything else (a typed path included) is refused."""
        if not label:
            raise DataError("choose a model first")
        entry = self.entries.get(label)
        if entry is None or not is_within(entry.path, self.roots):
            raise DataError(f"unknown model {label!r}; choose one from the list")
        return entry

    def load(self, label: str | None) -> tuple[ModelEntry, Any]:
        """(entry, facade) for a label, loading the model on first use."""
        entry = self.entry(label)
        with self._lock:
            if entry.label in self._cache:
                self._cache.move_to_end(entry.label)
                return entry, self._cache[entry.label]
            from ..api import GPDStudent, KDITStudent

            facade_cls = GPDStudent if entry.kind == "gpd" else KDITStudent
            try:
                facade = facade_cls.from_pretrained(entry.path, device=self.device)
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                if isinstance(exc, CheckpointError):
                    raise
                raise CheckpointError(f"model {entry.label} cannot be loaded ({type(exc).__name__}: {exc})") from exc
            self._cache[entry.label] = facade
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return entry, facade
