"""GPU speed settings, on only on CUDA: bf16 autocast for forward passes, TF32 matmuls/convolutions and the
channels-last memory format. On CPU every one of them is off, so CPU runs stay exact fp32 (and tested so)."""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch


def is_cuda(device: torch.device | str) -> bool:
    return torch.device(device).type == "cuda"


def enable_tf32(device: torch.device | str) -> bool:
    """Let CUDA matmuls and convolutions use TF32 (Ampere and newer); returns whether it was switched on."""
    if not is_cuda(device):
        return False
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return True


def autocast(device: torch.device | str, enabled: bool = True) -> ContextManager:
    """bf16 autocast on CUDA (losses and reductions stay fp32, as autocast keeps them); a no-op on CPU.

    Off for double-backward regularisers (R1, path length), whose small gradients bf16 would round away."""
    if is_cuda(device):  # enabled=False inside an enabled region switches it off there
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled)
    return contextlib.nullcontext()


def train_channels_last(device: torch.device | str, requested: bool | None = None) -> bool:
    """Channels-last memory format: what ``requested`` says, else on for CUDA only (tensor-core convolutions)."""
    return requested if requested is not None else is_cuda(device)


def peak_memory_gib(device: torch.device | str) -> float | None:
    """Peak GPU memory allocated so far on ``device`` in GiB (``None`` off CUDA)."""
    if not is_cuda(device):
        return None
    return torch.cuda.max_memory_allocated(torch.device(device)) / 2 ** 30
