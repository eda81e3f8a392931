"""The one registry of model classes: a model directory's config.json ``"class"`` → the class that loads it.

Each model class registers itself where it is defined, saying what kind of model it is and which public
name loads it::

    @register_model(kind="kdit-i2i", loader="gandistill.KDITStudent")
    class I2IStudent(PretrainedMixin, nn.Module): ...

Everything that dispatches on a directory's class (the API facades, ``gandistill translate``,
``gandistill serve``, GPD's loader, model cards) asks this registry by *kind* instead of keeping a table
of class names. A class is known once its module is imported; :mod:`gandistill.models` imports every
model module (this module sits below the networks and cannot).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..errors import CheckpointError
from .pretrained import PretrainedMixin, read_model_config

C = TypeVar("C", bound=type)

#: class name (as written to config.json) → class, filled by :func:`register_model`
MODEL_CLASSES: dict[str, type[PretrainedMixin]] = {}


def register_model(kind: str, loader: str | None = None) -> Callable[[C], C]:
    """Class decorator: register a :class:`PretrainedMixin` class under its name.

    ``kind`` says what the model does ("teacher", "generator", "discriminator", "kdit-i2i", "kdit-x2i",
    "gpd-student"); callers select classes by kind. ``loader`` is the public dotted name whose
    ``from_pretrained`` users should call (default: the class itself); errors and model cards show it.
    """
    def register(cls: C) -> C:
        if not issubclass(cls, PretrainedMixin):
            raise TypeError(f"{cls.__name__} must derive from PretrainedMixin to be a registered model class")
        name = cls.__name__
        known = MODEL_CLASSES.get(name)
        # the same class imported again (a module reload) replaces itself; a second class of that name would
        # make saved directories ambiguous
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"model class name {name!r} is taken by {known.__module__}.{known.__qualname__}; "
                             "rename one of them")
        cls.model_kind = kind
        cls.loader = loader or f"{cls.__module__}.{cls.__qualname__}"
        MODEL_CLASSES[name] = cls
        return cls

    return register


def model_class(name: str) -> type[PretrainedMixin] | None:
    """The registered class called ``name``, or None."""
    return MODEL_CLASSES.get(name)


def classes_of_kind(kinds: Iterable[str]) -> list[str]:
    """Names of the registered classes whose kind is one of ``kinds``, sorted."""
    wanted = set(kinds)
    return sorted(n for n, c in MODEL_CLASSES.items() if c.model_kind in wanted)


def resolve_model(directory: str | Path, kinds: Iterable[str] | None = None, what: str = "a model",
                  caller: str = "gandistill") -> type[PretrainedMixin]:
    """The registered class of the model in ``directory``, checked to be one of ``kinds`` (None: any).

    A CheckpointError names the class found and, when it is of another kind, the loader to use instead.
    """
    name = read_model_config(directory).get("class")
    cls = MODEL_CLASSES.get(name) if isinstance(name, str) else None
    wanted = None if kinds is None else tuple(kinds)
    if cls is not None and (wanted is None or cls.model_kind in wanted):
        return cls
    if cls is not None:
        raise CheckpointError(f"{directory} holds a {name!r}, not {what}; {caller} cannot load it — "
                              f"use {cls.loader}.from_pretrained")
    known = classes_of_kind(wanted) if wanted is not None else sorted(MODEL_CLASSES)
    raise CheckpointError(f"{directory} holds a {name!r}, which is not {what} that {caller} knows "
                          f"(known: {', '.join(known) or 'none'}); point it at a model directory saved by gandistill")


def load_model(directory: str | Path, kinds: Iterable[str] | None = None, what: str = "a model",
               caller: str = "gandistill", map_location: str | torch.device = "cpu") -> Any:
    """Load the model in ``directory`` with its registered class (checked as in :func:`resolve_model`)."""
    return resolve_model(directory, kinds, what, caller).from_pretrained(directory, map_location=map_location)
