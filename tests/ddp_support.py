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


def run_workers(worker: Path, root: Path, processes: int = 2, timeout: int = 850) -> None:
    """Run ``worker root`` under ``torch.distributed.run`` (CPU, gloo, a free port) and require success."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(worker.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
                           "--master_port=0", "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", str(worker),
                           str(root)], capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


def load_dump(root: Path, name: str, rank: int) -> dict:
    """What a worker saved as ``dumps/<name>-rank<rank>.pt``."""
    import torch

    return torch.load(root / "dumps" / f"{name}-rank{rank}.pt", weights_only=True)


def assert_same(a: dict, b: dict, what: str, skip: tuple[str, ...] = ()) -> None:
    """Two dumps hold the same keys and bit-identical tensors (but for ``skip``)."""
    import torch

    assert a.keys() == b.keys()
    for key in a:
        if key not in skip:
            assert torch.equal(a[key], b[key]), f"{what}: {key} differs"
