"""Helpers for the torchrun worker scripts of the 2-process tests (run inside each process)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree")


def record_writes(below: Path) -> list[str]:
    """Install an audit hook that records every file this process writes, renames or deletes and every
    folder it creates below ``below``; returns the (growing) list of ``"<event> <path>"`` lines."""
    writes: list[str] = []
    root = str(below)

    def audit(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (mode is None and bool(flags & _WRITE_FLAGS))
        elif event in _WRITE_EVENTS:
            path, writing = args[0], True
        else:
            return
        if writing and isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).startswith(root):
            writes.append(f"{event} {os.fsdecode(path)}")

    sys.addaudithook(audit)
    return writes
