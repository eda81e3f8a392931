"""Import a foreign StyleGAN2 checkpoint as a gandistill teacher model directory.

    teacher = import_checkpoint("550000.pt")                          # rosinality .pt
    teacher = import_checkpoint("ffhq.pkl", out="runs/teacher/model") # NVlabs .pkl, saved
    teacher = import_checkpoint("https://host/ffhq.pkl", sha256=HEX)  # downloaded once into the cache
    teacher = import_checkpoint("hf://owner/repo/ffhq.pt@main")       # a Hugging Face Hub file

The format is recognised from the file's first bytes, not its name: a zip container or a legacy
``torch.save`` file is a rosinality checkpoint, any other pickle an NVlabs network pickle. URLs and
Hub references go through the download cache of :mod:`gandistill.io.download`.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Literal

from ..errors import CheckpointError
from ..io.download import fetch, is_remote
from ..io.pretrained import CONFIG_NAME, file_sha256
from ..teacher.model import Teacher
from .nvlabs_pickle import load_nvlabs_pickle
from .rosinality import load_rosinality

Format = Literal["rosinality", "nvlabs"]
# a legacy (torch < 1.6) torch.save file starts with its magic number, pickled with protocol 2
_LEGACY_TORCH_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1]


def detect_format(path: str | Path) -> Format:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        raise CheckpointError(f"{path} is empty")
    if head.startswith(b"PK\x03\x04"):
        return "rosinality"  # torch.save zip container
    if head.startswith(_LEGACY_TORCH_MAGIC):
        return "rosinality"  # torch.save legacy format (torch < 1.6)
    if head[:1] == b"\x80":
        return "nvlabs"
    raise CheckpointError(f"{path} is neither a PyTorch checkpoint (.pt) nor a pickle (.pkl); "
                          "expected a rosinality stylegan2-pytorch .pt or an NVlabs stylegan2-ada/stylegan3 .pkl")


def import_checkpoint(path: str | Path, which: str = "g_ema", out: str | Path | None = None,
                      overwrite: bool = False, sha256: str | None = None, progress: bool = True) -> Teacher:
    """Read a rosinality ``.pt`` or NVlabs ``.pkl`` into a :class:`Teacher`; optionally save it.

    ``path`` is a local file, an ``http(s)://`` URL or an ``hf://owner/repo/file[@revision]`` Hub
    reference (fetched through the cache; ``sha256`` or a ``#sha256=`` fragment is checked).
    ``which`` picks the generator: "g_ema" (the EMA generator, default) or "g" (the training one).
    With ``out`` the teacher is written as a model directory whose config.json records
    ``extra = {"imported_from", "source_sha256", "format", "which", "notes"}``.
    """
    if which not in ("g_ema", "g"):
        raise CheckpointError(f"which must be 'g_ema' or 'g', got {which!r}")
    if out is not None and not overwrite and (Path(out) / CONFIG_NAME).exists():
        raise CheckpointError(f"{out} already holds a model; choose another directory or overwrite it explicitly")
    source = str(path).partition("#")[0] if is_remote(path) else str(path)  # a URL is recorded minus its hash
    path = fetch(path, sha256=sha256, progress=progress)
    fmt = detect_format(path)
    teacher = load_rosinality(path, which=which) if fmt == "rosinality" else load_nvlabs_pickle(path, which=which)
    teacher.eval()
    teacher.import_info = {  # type: ignore[attr-defined]
        "imported_from": source,
        "source_sha256": file_sha256(path),
        "format": fmt,
        "which": which,
        "notes": list(getattr(teacher, "import_notes", [])),
    }
    if out is not None:
        teacher.save_pretrained(out, extra=teacher.import_info)  # type: ignore[attr-defined]
    return teacher
