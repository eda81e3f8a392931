"""Training-health checks that print one line while a teacher trains.

A discriminator that wins (real scores far above fake ones for a long stretch) gives the generator almost
no gradient: on few images the run then spends most of its steps learning little, and nothing in the
losses alone makes that obvious. :class:`DiscriminatorWatch` names it and the usual remedies.
"""
from __future__ import annotations

import warnings
from collections import deque


class TrainingHealthWarning(UserWarning):
    """A training run is going badly in a way that has a known remedy."""


class DiscriminatorWatch:
    """Warns when the mean real−fake score gap over the last ``window`` steps is at least ``gap``,
    at most once per ``every`` steps (healthy StyleGAN2 runs keep the gap to a few logits)."""

    def __init__(self, augment: str = "diffaug", window: int = 100, gap: float = 8.0, every: int = 500):
        self.augment, self.window, self.gap, self.every = augment, window, gap, every
        self.real: deque[float] = deque(maxlen=window)
        self.fake: deque[float] = deque(maxlen=window)
        self.last_warned: int | None = None

    def remedies(self) -> str:
        first = "`--augment ada`" if self.augment != "ada" else "a higher --ada-target (ADA is already on)"
        return f"{first}, more training images, or a lower learning rate (--lr-d / --lr-g)"

    def update(self, step: int, stats: dict[str, float]) -> str | None:
        """Feed one step's scalars; returns (and warns with) the message when the gap stays large."""
        if "scores/real" not in stats or "scores/fake" not in stats:
            return None
        self.real.append(float(stats["scores/real"]))
        self.fake.append(float(stats["scores/fake"]))
        if len(self.real) < self.window:
            return None
        if self.last_warned is not None and step - self.last_warned < self.every:
            return None
        real, fake = sum(self.real) / len(self.real), sum(self.fake) / len(self.fake)
        if real - fake < self.gap:
            return None
        self.last_warned = step
        message = (f"step {step}: the discriminator is winning (mean score on reals {real:+.1f}, on fakes "
                   f"{fake:+.1f} over the last {self.window} steps), so the generator learns little; try "
                   f"{self.remedies()}")
        warnings.warn(message, TrainingHealthWarning, stacklevel=2)
        return message
