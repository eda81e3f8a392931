"""Write a toyfaces dataset to disk, or return it as arrays.

    gandistill data toyfaces --out data/toyfaces --n 2000 --res 64

Layout: ``photo/000000.png``, ``sketch/000000.png``, ``seg/000000.png`` (mode L class
indices), ``audio/000000.wav`` (16 kHz 16-bit mono), ``metadata.jsonl`` (one row per face:
file names, ``text`` caption, ``params``) and ``toyfaces.json`` (n, res, seed, domains,
versions), written last so its presence means the folder is complete.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ... import __version__
from ...errors import DataError
from ...io.atomic import atomic_write_text
from ..audio import write_wav
from .params import TOYFACES_VERSION, sample_params
from .rendering import render
from .sound import SAMPLE_RATE

DOMAINS = ("photo", "sketch", "seg", "audio")
MANIFEST = "toyfaces.json"
_FIELD = {"photo": "file_name", "sketch": "sketch_file_name", "seg": "label_file_name", "audio": "audio_file_name"}
_EXT = {"photo": "png", "sketch": "png", "seg": "png", "audio": "wav"}
_OURS = re.compile(r"^\d{6,}\.(png|wav)$")
_CHUNK = 50  # samples per worker task: big enough to amortise pickling, small enough for a live progress bar


def check_domains(domains) -> tuple[str, ...]:
    domains = tuple(dict.fromkeys(domains))  # de-duplicate, keep order
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        raise ValueError(f"unknown toyfaces domain(s) {unknown}; choose from {', '.join(DOMAINS)}")
    if "photo" not in domains:
        raise ValueError("domains must include 'photo' (metadata.jsonl rows are keyed by the photo file)")
    return domains


def _write_sample(out: Path, index: int, res: int, seed: int, domains: tuple[str, ...]) -> dict:
    params = sample_params(seed, index)
    sample = render(params, res, domains + ("caption",))
    row: dict = {}
    for d in domains:
        rel = f"{d}/{index:06d}.{_EXT[d]}"
        if d == "audio":
            write_wav(out / rel, sample["audio"], SAMPLE_RATE)
        else:
            Image.fromarray(sample[d], "L" if d == "seg" else "RGB").save(out / rel, format="PNG", compress_level=3)
        row[_FIELD[d]] = rel
    row["text"] = sample["caption"]
    row["params"] = params.to_dict()
    return row


def _write_chunk(out: str, indices: range, res: int, seed: int, domains: tuple[str, ...]) -> list[dict]:
    return [_write_sample(Path(out), i, res, seed, domains) for i in indices]


def _prepare(out: Path, domains: tuple[str, ...]) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file; choose a folder for --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise DataError(
                f"{out} exists and is not empty; choose a new --out folder or empty it "
                f"(only folders holding {MANIFEST} from an earlier toyfaces run are overwritten)"
            )
        # Regenerating: drop the old samples so a smaller n leaves no stale files behind.
        for d in DOMAINS:
            folder = out / d
            if folder.is_dir():
                for f in folder.iterdir():
                    if _OURS.match(f.name):
                        f.unlink()
        (out / MANIFEST).unlink()
    for d in domains:
        (out / d).mkdir(parents=True, exist_ok=True)


def _pool_context():
    # Rendering is many small numpy calls, so threads serialise on the GIL; processes scale.
    # fork (Linux) starts instantly and needs no `if __name__ == "__main__"` guard in the caller;
    # workers only use numpy and Pillow, never torch, so forking a process that imported torch is safe.
    # Elsewhere spawn is used, which needs that guard in scripts.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def default_workers() -> int:
    """Worker processes the CLI uses: up to 2 (the machines this targets are laptops)."""
    return max(1, min(2, os.cpu_count() or 1))


def generate_toyfaces(
    out_dir: str | Path,
    n: int,
    res: int,
    seed: int = 0,
    domains=DOMAINS,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Write ``n`` faces at ``res`` x ``res`` into ``out_dir`` (see module docstring); returns the folder.
    Sample ``i`` depends only on (seed, i, res), so files are byte-identical across runs, values of n
    and ``workers`` (processes; default 1, the CLI uses 2)."""
    if n < 1 or res < 8:
        raise ValueError(f"need n >= 1 and res >= 8, got n={n}, res={res}")
    domains = check_domains(domains)
    out = Path(out_dir)
    _prepare(out, domains)
    workers = 1 if workers is None or n <= _CHUNK else max(1, int(workers))
    chunks = [range(s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK)]
    rows: list[dict] = []
    bar = tqdm(total=n, desc="toyfaces", unit="face", disable=not progress)
    if workers == 1:
        for c in chunks:
            rows += _write_chunk(str(out), c, res, seed, domains)
            bar.update(len(c))
    else:
        with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            futures = [pool.submit(_write_chunk, str(out), c, res, seed, domains) for c in chunks]
            for c, fut in zip(chunks, futures):  # in order, so metadata rows stay sorted
                rows += fut.result()
                bar.update(len(c))
    bar.close()
    atomic_write_text(out / "metadata.jsonl", "".join(json.dumps(r, sort_keys=False) + "\n" for r in rows))
    manifest = {"dataset": "toyfaces", "n": n, "res": res, "seed": seed, "domains": list(domains),
                "audio_sample_rate": SAMPLE_RATE, "toyfaces_version": TOYFACES_VERSION,
                "gandistill_version": __version__}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return out


def toyfaces_arrays(n: int, res: int, seed: int = 0, start: int = 0,
                    domains=("photo", "sketch", "seg", "audio", "caption")) -> dict:
    """Faces ``start .. start+n-1`` in memory: ``photo``/``sketch`` (n, res, res, 3) uint8, ``seg``
    (n, res, res) uint8, ``audio`` (n, 8000) int16 (stacked numpy arrays), ``caption`` (list of str)
    and ``params`` (list of ToyFaceParams)."""
    params = [sample_params(seed, i) for i in range(start, start + n)]
    samples = [render(p, res, tuple(domains)) for p in params]
    out: dict = {"params": params}
    for d in domains:
        values = [s[d] for s in samples]
        out[d] = values if d == "caption" else np.stack(values)
    return out
