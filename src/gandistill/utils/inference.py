"""One way to run networks for inference: eval mode, channels-last memory format, ``torch.inference_mode``.

    G = prepare_for_inference(Generator.from_pretrained(d), device)   # eval + channels-last (in place)

    @inference                        # runs under inference_mode, returns ordinary tensors
    def render(G, z): ...

Every inference entry point (teacher sample, triplets, translate, serve, the API, projection, evaluate)
goes through these two. Channels-last is 1.3–1.5× faster for the StyleGAN2 stacks on CPU
(benchmarks/teacher_speed.py) and is what tensor cores want on GPUs; per entry point see
benchmarks/inference_layouts.py (every one 1.2× or more on CPU); the KDIT students take their input images
through :func:`to_channels_last`, so their 1×1 fromRGB runs as a matmul. Results agree with NCHW within
float rounding (tests/test_channels_last.py). Opt out with the environment variable ``GANDISTILL_CHANNELS_LAST=0``
or :func:`use_channels_last`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from typing import Any, Callable, Iterator, TypeVar

import torch

M = TypeVar("M", bound=torch.nn.Module)
F = TypeVar("F", bound=Callable[..., Any])

_channels_last = os.environ.get("GANDISTILL_CHANNELS_LAST", "1").strip().lower() not in ("0", "false", "no", "off")


def channels_last_enabled() -> bool:
    """Whether :func:`prepare_for_inference` converts modules to channels-last (the default)."""
    return _channels_last


@contextlib.contextmanager
def use_channels_last(enabled: bool) -> Iterator[None]:
    """Switch channels-last on or off for modules prepared inside the block (tests compare both)."""
    global _channels_last
    old, _channels_last = _channels_last, bool(enabled)
    try:
        yield
    finally:
        _channels_last = old


def prepare_for_inference(module: M, device: torch.device | str | None = None,
                          channels_last: bool | None = None) -> M:
    """``module`` moved to ``device``, in eval mode and (by default) channels-last; modified in place.

    Only 4-D parameters and buffers change layout; values are untouched, so training code that shares
    the module keeps working (elementwise optimiser updates do not care about strides).
    """
    if device is not None:
        module = module.to(device)
    module.eval()
    if channels_last if channels_last is not None else _channels_last:
        module.to(memory_format=torch.channels_last)
    return module


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D image batch in channels-last layout when that is enabled (other tensors unchanged)."""
    if x.ndim == 4 and _channels_last:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def ordinary(obj: Any) -> Any:
    """Tensors made by inference_mode → ordinary NCHW-contiguous tensors (containers and dataclasses walked).

    Callers may then edit results in place or feed them to autograd (e.g. triplets as training targets),
    which inference tensors forbid. The copy is small next to the networks that produced it.
    """
    if isinstance(obj, torch.Tensor):
        if obj.is_inference() or (obj.ndim == 4 and not obj.is_contiguous()):
            return obj.clone(memory_format=torch.contiguous_format)
        return obj
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(ordinary(o) for o in obj)
    if isinstance(obj, dict):
        return {k: ordinary(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: ordinary(getattr(obj, f.name))
                                           for f in dataclasses.fields(obj) if f.init})
    return obj


def inference(fn: F) -> F:
    """Decorator: run ``fn`` under ``torch.inference_mode`` and hand back :func:`ordinary` results.

    Nested calls (one decorated function calling another) convert only once, at the outermost level.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if torch.is_inference_mode_enabled():
            return fn(*args, **kwargs)
        with torch.inference_mode():
            out = fn(*args, **kwargs)
        return ordinary(out)
    return wrapper  # type: ignore[return-value]
