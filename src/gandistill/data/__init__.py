"""Datasets: image folders, paired folders, label maps, audio clips, the procedural ``toyfaces``, face alignment.

Names are imported lazily so that ``gandistill data toyfaces`` does not pay for importing torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ImageFolderDataset": ".folder",
    "to_tensor": ".folder",
    "PairedImageDataset": ".paired",
    "DatasetSummary": ".summary",
    "validate": ".validation",
    "load_image": ".images",
    "list_images": ".images",
    "resize_square": ".images",
    "SUPPORTED_EXTENSIONS": ".images",
    "DEFAULT_MAX_PIXELS": ".images",
    "load_label_map": ".labels",
    "resize_label": ".labels",
    "load_wav": ".audio",
    "read_wav": ".audio",
    "write_wav": ".audio",
    "read_metadata": ".metadata",
    "METADATA_FILE": ".metadata",
    "ToyFaceParams": ".toyfaces",
    "sample_params": ".toyfaces",
    "render": ".toyfaces",
    "generate_toyfaces": ".toyfaces",
    "toyfaces_arrays": ".toyfaces",
    "SEG_CLASSES": ".toyfaces",
    "seg_to_rgb": ".toyfaces",
    "align_face": ".align",
    "align_folder": ".align",
    "detect_landmarks": ".align",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
