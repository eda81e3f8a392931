"""Processes and batches: joining the ``torchrun`` process group and splitting ``--batch`` over processes and
accumulation rounds (the primitives — all-reduce, broadcast, gather — are in :mod:`gandistill.utils.dist`)."""
from __future__ import annotations

import torch

from ..errors import GandistillError
from ..utils import dist
from ..utils.dist import DistInfo
from .precision import enable_tf32


def setup_processes(device_name: str = "auto") -> tuple[torch.device, DistInfo]:
    """The device of this process and its place among ``torchrun``'s processes (one process without it);
    under torchrun each CUDA process takes its local GPU and only rank 0 shows user warnings. TF32 is switched on
    for CUDA devices."""
    device = dist.resolve_device(device_name, 0)
    info = dist.init_distributed(device)
    dist.warn_on_main_only(info)  # the user reads each warning once, from rank 0
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    enable_tf32(device)
    return device, info


def plan_batch(batch: int, batch_gpu: int | None, world_size: int) -> tuple[int, int]:
    """``(batch_gpu, rounds)``: each process sees ``batch_gpu`` samples per round and accumulates gradients over
    ``rounds`` rounds, so that one optimiser step sees ``batch`` samples over all processes."""
    batch_gpu = batch_gpu or batch // world_size
    rounds = batch // (batch_gpu * world_size) if batch_gpu > 0 else 0
    if rounds < 1 or rounds * batch_gpu * world_size != batch:
        raise GandistillError(f"--batch {batch} must be a multiple of --batch-gpu {batch_gpu} × "
                              f"{world_size} processes")
    return batch_gpu, rounds
