"""Atomic file writes: temp file in the same folder, fsync, rename. A crash leaves old or new, never half.

Temp files are named ``.<name>.<random>.tmp``; ones left behind by an interrupted write are removed by the
next write to the same folder (once they are clearly stale) and by :func:`remove_stale_temps` at a run's start.
The result gets the permissions of any new file (0666 & ~umask), not mkstemp's private 0600.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

TEMP_RE = re.compile(r"^\.(.+)\.[A-Za-z0-9_]{8}\.tmp$")  # mkstemp(prefix=".<name>.", suffix=".tmp")
#: a temp file untouched this long is an interrupted write, not one in progress (writers touch it constantly)
STALE_AFTER_S = 600.0
# what libraries that bypass Python's file objects say when the disk is full (torch.save, safetensors)
_FULL_HINTS = ("no space left", "file write failed", "storagefull", "code: 28", "disk quota")


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (no window for other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temps(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete ``.<name>.*.tmp`` files of interrupted atomic writes in ``folder``; returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not TEMP_RE.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime >= older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # vanished meanwhile or not ours to delete: never fail a write over a leftover
    return removed


def _disk_full(exc: BaseException, path: Path) -> OSError | None:
    """An OSError(ENOSPC) naming ``path`` when ``exc`` is a library's way of saying the disk is full."""
    if isinstance(exc, OSError):
        return None
    text = str(exc).lower()
    if any(hint in text for hint in _FULL_HINTS):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; on success it is fsynced and renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except Exception as exc:
            full = _disk_full(exc, path)
            if full is not None:
                raise full from exc
            raise
        with open(tmp_path, "rb+") as fh:
            # mkstemp makes 0600 (and some writers recreate the file): give it a new file's mode, as open() would
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support directory fsync
    finally:
        os.close(fd)


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        writer(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda p: p.write_bytes(data))


def dump_json(obj: Any, path: str | Path) -> None:
    """Write a dataclass (e.g. a run's resolved options) or a dict as indented JSON, atomically."""
    data = dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def commit_file(tmp: str | Path, path: str | Path) -> None:
    """Make a finished temp file (e.g. a completed download) durable and move it over ``path`` in one step."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)
