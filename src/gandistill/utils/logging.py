"""Scalar logging (JSON lines + optional TensorBoard) and progress bars with ETA."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

_overall: "OverallProgress | None" = None  # set while a multi-stage job (the demo) owns the display


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True, unit: str = "step") -> Any:
    """A tqdm bar counting ``unit`` (training steps, or "img" for images); inside :meth:`OverallProgress.stage`
    a proxy that advances the one overall bar instead."""
    if _overall is not None and enabled:
        return _overall.child(total, initial)
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, dynamic_ncols=True,
                smoothing=0.1, unit=unit)


class OverallProgress:
    """One progress display for a job made of stages (``gandistill demo``).

    ``plan`` maps each stage name to its estimated cost (seconds on a 2-core CPU); the bar counts those
    units, so its percentage and ETA cover the whole job. Stage code keeps calling :func:`progress_bar`;
    while a stage runs, those calls return children that move the overall bar by the stage's share.
    """

    def __init__(self, plan: dict[str, float], desc: str = "", enabled: bool = True):
        self.plan = dict(plan)
        self.names = list(plan)
        self.done = 0.0  # units of finished stages
        self.stage_name: str | None = None
        self.failed: str | None = None  # the stage that raised, if one did
        self.stage_used = 0.0
        self.bar = tqdm(total=round(sum(plan.values())), desc=desc, disable=not enabled, dynamic_ncols=True,
                        smoothing=0.05, unit="u", bar_format="{desc} {percentage:3.0f}%|{bar}| "
                        "[{elapsed}<{remaining}]{postfix}")

    @contextmanager
    def stage(self, name: str, log: str | Path | None = None) -> Iterator["OverallProgress"]:
        """Run one planned stage; its progress bars feed this display, and it counts as done at the end.

        A stage that raises leaves the bar where it stopped and says which stage it was (and ``log``)."""
        global _overall
        if name not in self.plan:
            raise KeyError(f"stage {name!r} is not in the plan {self.names}")
        self.stage_name, self.stage_used = name, 0.0
        i = self.names.index(name) + 1
        self.bar.set_description_str(f"[{i}/{len(self.names)}] {name}")
        self.bar.set_postfix_str("")
        previous, _overall = _overall, self
        try:
            yield self
        except BaseException as exc:
            how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.failed = name
            self.bar.set_description_str(f"[{i}/{len(self.names)}] {name} {how}")
            self._show(self.done + self.stage_used)  # where it stopped: no credit for the unfinished stage
            where = f"; its log: {log}" if log else ""
            self.bar.write(f"stage {i}/{len(self.names)} ({name}) {how}{where}", file=sys.stderr)
            raise
        else:
            self.done += self.plan[name]
            self._show(self.done)
        finally:
            _overall = previous
            self.stage_name = None

    def child(self, total: int, initial: int = 0) -> "_StageBar":
        remaining = self.plan[self.stage_name] - self.stage_used if self.stage_name else 0.0
        return _StageBar(self, remaining / max(1, total - initial))

    def advance(self, units: float) -> None:
        if self.stage_name is None:
            return
        cap = self.plan[self.stage_name]
        self.stage_used = min(cap, self.stage_used + units)  # a stage never eats its successors' share
        self._show(self.done + self.stage_used)

    def _show(self, units: float) -> None:
        self.bar.n = min(self.bar.total, round(units))
        self.bar.refresh()

    def write(self, line: str) -> None:
        """Print a line above the bar."""
        self.bar.write(line)

    def close(self) -> None:
        self.bar.close()


class _StageBar:
    """The part of tqdm's interface stage code uses, forwarding to the overall bar."""

    def __init__(self, parent: OverallProgress, weight: float):
        self.parent, self.weight = parent, weight

    def update(self, n: int = 1) -> None:
        self.parent.advance(n * self.weight)

    def set_postfix(self, values: dict | None = None, **kwargs: Any) -> None:
        items = {**(values or {}), **kwargs}
        self.parent.bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in items.items()))

    def set_description(self, *_: Any, **__: Any) -> None:
        pass  # the overall bar keeps the stage name

    def write(self, line: str, **kwargs: Any) -> None:
        self.parent.bar.write(line, **kwargs)

    def close(self) -> None:
        pass

    def __enter__(self) -> "_StageBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


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
