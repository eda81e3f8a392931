"""Limited real pairs for ``kdit finetune``: a dataset folder in the DESIGN §3 layout (e.g. a
``gandistill data toyfaces`` folder: ``photo/``, ``sketch/``, ``seg/``, ``audio/`` and a
``metadata.jsonl`` with ``file_name`` (the target photo), ``sketch_file_name``,
``label_file_name``, ``audio_file_name`` and ``text``).

Images are loaded with the teacher's channel count (3, or 1 for a grey teacher).
Modality → condition tensor: image → [N, C, R, R] float (the ``--input-domain`` image, default
sketch); seg → [N, R, R] int64 labels; text → the captions (embedded by the caller); audio →
[N, T] float waveforms (clips are cut/padded to the shortest length of the set).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.audio import load_wav
from ..data.images import load_square
from ..data.labels import load_label_map
from ..data.metadata import read_metadata
from ..errors import DataError
from ..utils.images import to_float

MODALITIES = ("image", "seg", "text", "audio")


def _json_type(value) -> str:
    return {bool: "boolean", int: "number", float: "number", list: "array", dict: "object",
            type(None): "null"}.get(type(value), type(value).__name__)


@dataclass
class PairSet:
    target: torch.Tensor  # [N, C, R, R] float in [-1, 1] (C: the teacher's channels)
    cond: torch.Tensor | list[str]  # see module docstring
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, idx) -> "PairSet":
        idx = list(idx)
        cond = [self.cond[i] for i in idx] if isinstance(self.cond, list) else self.cond[idx]
        return PairSet(self.target[idx], cond, [self.names[i] for i in idx])


def _image(path: Path, res: int, channels: int = 3) -> torch.Tensor:
    arr = load_square(path, res, channels)
    return to_float(torch.from_numpy(np.array(arr)).permute(2, 0, 1))


def load_pairs(root: str | Path, modality: str, resolution: int, n: int | None = None, start: int = 0,
               input_domain: str = "sketch", num_classes: int = 8, sample_rate: int = 16000,
               channels: int = 3) -> PairSet:
    """Pairs ``start .. start+n-1`` (in file-name order) of ``root`` for ``modality``."""
    if modality not in MODALITIES:
        raise DataError(f"unknown modality {modality!r}; choose from {', '.join(MODALITIES)}")
    root = Path(root)
    rows = read_metadata(root)
    if not rows:
        raise DataError(f"{root} has no metadata.jsonl; limited-data fine-tuning needs one row per pair "
                        "(file_name plus sketch_file_name / label_file_name / audio_file_name / text)")
    names = sorted(rows)[start:start + n if n is not None else None]
    if n is not None and len(names) < n:
        raise DataError(f"{root} has {len(rows)} pairs; asked for {n} starting at {start}")
    field = {"image": f"{input_domain}_file_name", "seg": "label_file_name", "audio": "audio_file_name",
             "text": "text"}[modality]
    targets, conds = [], []
    for name in names:
        row = rows[name]
        if field not in row:
            raise DataError(f"{root}/metadata.jsonl: the row of {name} has no {field!r} (needed for {modality})")
        targets.append(_image(root / name, resolution, channels))
        value = row[field]
        if modality == "image":
            conds.append(_image(root / value, resolution, channels))
        elif modality == "seg":
            conds.append(torch.from_numpy(load_label_map(root / value, num_classes, resolution).astype(np.int64)))
        elif modality == "audio":
            conds.append(torch.from_numpy(load_wav(root / value, sample_rate)))
        else:
            if not isinstance(value, str):
                raise DataError(f"{root}/metadata.jsonl: the caption (\"text\") of {name} is {json.dumps(value)}, a "
                                f"JSON {_json_type(value)}; captions must be strings: write \"text\": "
                                f"{json.dumps(str(value) if value is not None else 'a caption')}")
            if not value.strip():
                raise DataError(f"{root}/metadata.jsonl: the caption (\"text\") of {name} is empty; write a caption "
                                "or remove the line")
            conds.append(value)
    if modality == "audio":
        length = min(len(c) for c in conds)
        cond: torch.Tensor | list[str] = torch.stack([c[:length] for c in conds])
    elif modality == "text":
        cond = conds
    else:
        cond = torch.stack(conds)
    return PairSet(torch.stack(targets), cond, names)
