"""Helpers shared by the training engines (teacher, KDIT, GPD): Ctrl-C handling and the Adam set-up."""
from __future__ import annotations

import signal
from typing import Any

import torch


class StopFlag:
    """First Ctrl-C asks the loop to stop after the current step (and save); a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> "StopFlag":
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not in the main thread
            self._old = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step and saving the training state (Ctrl-C again to abort)", flush=True)

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def adam(params, lr: float, beta2: float, reg_interval: int, beta1: float = 0.0) -> torch.optim.Adam:
    """Adam for GAN training; with lazy regularisation every ``reg_interval`` steps, lr and betas are
    scaled so that the effective schedule matches per-step regularisation (StyleGAN2)."""
    ratio = reg_interval / (reg_interval + 1) if reg_interval > 0 else 1.0
    return torch.optim.Adam(params, lr=lr * ratio, betas=(beta1 ** ratio, beta2 ** ratio), eps=1e-8)
