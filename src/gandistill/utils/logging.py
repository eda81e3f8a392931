"""Scalar logging (JSON lines + optional TensorBoard) and progress bars with ETA."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True) -> tqdm:
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, dynamic_ncols=True,
                smoothing=0.1, unit="step")


class ScalarLog:
    """Appends ``{"step", "kimg", **scalars}`` to ``<run>/stats.jsonl`` and TensorBoard (if installed).

    On resume, lines past the resumed step are dropped so the log matches the training state.
    """

    def __init__(self, run_dir: str | Path, enabled: bool = True, start_step: int = 0):
        self.enabled = enabled
        self.path = Path(run_dir) / "stats.jsonl"
        self.tb: Any = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            keep = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and start_step > 0 and json.loads(ln).get("step", 0) <= start_step]
            self.path.write_text("".join(ln + "\n" for ln in keep))
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=start_step or None)
        except ImportError:
            self.tb = None

    def write(self, step: int, nimg: int, scalars: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": step, "kimg": nimg / 1000, **{k: float(v) for k, v in scalars.items()}}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in scalars.items():
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_scalars(run_dir: str | Path) -> list[dict[str, float]]:
    path = Path(run_dir) / "stats.jsonl"
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
