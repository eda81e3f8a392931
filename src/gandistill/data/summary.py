"""What validation found: counts, sizes and modes of a dataset, printable for ``gandistill data check``."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import DataError


@dataclass
class DatasetSummary:
    root: str
    kind: str  # "images", "paired folders" or "side-by-side pairs"
    count: int  # images (pairs for paired data), without flipped copies
    resolution: int
    sizes: Counter = field(default_factory=Counter)  # (width, height) -> files
    modes: Counter = field(default_factory=Counter)  # Pillow mode -> files
    extensions: Counter = field(default_factory=Counter)
    fields: Counter = field(default_factory=Counter)  # metadata field -> rows that have it

    def __str__(self) -> str:
        def top(c: Counter, fmt=str) -> str:
            items = [f"{fmt(k)} x{v}" for k, v in c.most_common(6)]
            return ", ".join(items) + (f" (+{len(c) - 6} more)" if len(c) > 6 else "")

        lines = [
            f"{self.root}: {self.count} {self.kind}, all readable",
            f"  sizes:      {top(self.sizes, lambda s: f'{s[0]}x{s[1]}')}",
            f"  modes:      {top(self.modes)}",
            f"  formats:    {top(self.extensions)}",
            f"  loaded as:  {self.resolution}x{self.resolution} (centre crop, Lanczos resize)",
        ]
        if self.fields:
            lines.append(f"  metadata:   {top(self.fields)}")
        return "\n".join(lines)


def raise_if_bad(errors: list[str], where: str) -> None:
    """One DataError listing every bad file (first 20 in full), so users fix them in one pass."""
    if not errors:
        return
    shown = "\n  - ".join(errors[:20])
    more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    raise DataError(f"{len(errors)} bad file(s) in {where}:\n  - {shown}{more}\nfix or delete them and run again")

