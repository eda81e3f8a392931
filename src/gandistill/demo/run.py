"""What every demo stage shares: the output folder, the report, the one progress display, reuse markers."""
from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ..data.inputs import load_image_batch
from ..errors import GandistillError
from ..io.atomic import atomic_write_text
from ..io.state import list_states
from ..utils.images import to_uint8
from ..utils.logging import OverallProgress
from .report import Report


def fingerprint(settings: Any) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class DemoRun:
    cfg: Any  # DemoConfig
    out: Path
    report: Report
    progress: OverallProgress

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """One planned stage: its bars feed the overall display, its prints go to ``logs/<stage>.log``."""
        log = self.out / "logs" / (name.lower().replace(" ", "_") + ".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with self.progress.stage(name, log), open(log, "a", encoding="utf-8") as fh, contextlib.redirect_stdout(fh), \
                warnings.catch_warnings():
            # warnings would break the progress line: they go to the stage log and the report instead
            warnings.showwarning = lambda msg, cat, *_a, **_k: self._warn(name, fh, f"{cat.__name__}: {msg}")
            yield

    def _warn(self, stage: str, fh, text: str) -> None:
        fh.write(text + "\n")
        self.report.note(f"{stage}: {text}")

    def marker(self, key: str) -> Path:
        return self.out / "stages" / f"{key}.json"

    def is_done(self, key: str, settings: Any) -> bool:
        m = self.marker(key)
        return m.is_file() and json.loads(m.read_text()).get("fingerprint") == fingerprint(settings)

    def mark_done(self, key: str, settings: Any) -> str:
        fp = fingerprint(settings)
        self.marker(key).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.marker(key), json.dumps({"fingerprint": fp, "settings": settings}, default=str,
                                                       indent=1))
        return fp

    def train(self, key: str, cfg: Any, fn: Callable[[Any], Any], after: str = "") -> str:
        """Run ``fn(cfg)`` — a resumable training stage writing ``cfg.out`` — unless it already finished with
        the same options and the same upstream stage (``after``, its fingerprint).

        An earlier run with other settings is deleted; one that was interrupted resumes from its last
        state. Returns this stage's fingerprint, for the stages that build on it."""
        settings = {**asdict(cfg), "after": after}
        if self.is_done(key, settings):
            return fingerprint(settings)
        run_dir = Path(cfg.out)
        if self.marker(key).is_file() and run_dir.exists():  # finished before, with other settings
            shutil.rmtree(run_dir)
        cfg.resume = "latest" if list_states(run_dir / "checkpoints") else None
        fn(cfg)
        states = list_states(run_dir / "checkpoints")
        if not states or states[-1][0] < cfg.steps:
            raise GandistillError(f"the demo stopped during {key} (step {states[-1][0] if states else 0} of "
                                  f"{cfg.steps}); run the same command again to continue from there")
        return self.mark_done(key, settings)


def latest_grid(run_dir: Path, pattern: str, dest: Path, min_width: int = 480) -> bool:
    """Copy the newest ``samples/<pattern>`` grid of a run to ``dest``, enlarged (nearest) to at least
    ``min_width`` pixels so 32 px tiles stay visible; False when the run wrote none."""
    grids = sorted((run_dir / "samples").glob(pattern))
    if grids:
        img = Image.open(grids[-1])
        scale = max(1, -(-min_width // img.width))
        img.resize((img.width * scale, img.height * scale), Image.NEAREST).save(dest)
    return bool(grids)


def read_uint8(files: list[Path]) -> torch.Tensor:
    """Image files of one size → uint8 ``[N, 3, H, W]`` (what the pixel metrics and grids take)."""
    return to_uint8(load_image_batch(files))
