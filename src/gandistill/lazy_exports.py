"""Lazy re-exports for package ``__init__`` files (DESIGN §8).

A package lists its public names in an ``_EXPORTS`` table (name → (module, attribute)) and calls
:func:`export_lazily`; each name is imported from its module on first use. So ``import gandistill`` does not
import torch, and importing one network module (``gandistill.gpd.networks``) does not load its package's
training modules (``gpd.adapt`` and the training engine).
"""
from __future__ import annotations

import importlib
import sys
import types


class LazyPackage(types.ModuleType):
    """A package module whose ``_EXPORTS`` names are imported on first attribute access."""

    def __getattr__(self, name: str):  # only called when ordinary lookup fails
        exports = self.__dict__.get("_EXPORTS", {})
        if name not in exports:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        module, attr = exports[name]
        value = getattr(importlib.import_module(module, self.__name__), attr)
        self.__dict__[name] = value  # cache: later lookups skip __getattr__
        return value

    def __dir__(self) -> list[str]:
        return list(self.__dict__.get("__all__", ()))

    def __setattr__(self, name: str, value) -> None:
        # Importing a submodule binds it on its package; where an export shares the submodule's name (the
        # function gpd.adapt in gpd/adapt.py) the export must win, as it did when packages imported eagerly.
        if (name in self.__dict__.get("_EXPORTS", {}) and isinstance(value, types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return
        super().__setattr__(name, value)


def export_lazily(package: str) -> list[str]:
    """Make the package ``package`` (whose ``__init__`` is running) load its ``_EXPORTS`` lazily.

    Returns the sorted exported names, for ``__all__``.
    """
    module = sys.modules[package]
    module.__class__ = LazyPackage
    return sorted(module.__dict__["_EXPORTS"])
