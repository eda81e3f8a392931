"""Lazy package re-exports (gandistill.lazy_exports): names load on first use and keep their meaning."""
from __future__ import annotations

import importlib
import sys
import types

import pytest


@pytest.fixture
def lazy_pkg(tmp_path, monkeypatch):
    """A throwaway package ``lazypkg`` whose ``fit`` export shares its name with the submodule ``fit.py``."""
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from gandistill.lazy_exports import export_lazily\n"
        "_EXPORTS = {'fit': ('.fit', 'fit'), 'Net': ('.net', 'Net')}\n"
        "__all__ = export_lazily(__name__)\n")
    (pkg / "fit.py").write_text("def fit():\n    return 'fitted'\n")
    (pkg / "net.py").write_text("class Net:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_names_load_on_first_use(lazy_pkg):
    pkg = importlib.import_module(lazy_pkg)
    assert "lazypkg.fit" not in sys.modules and "lazypkg.net" not in sys.modules
    assert dir(pkg) == ["Net", "fit"] and pkg.__all__ == ["Net", "fit"]
    assert pkg.Net.__name__ == "Net" and "lazypkg.net" in sys.modules and "lazypkg.fit" not in sys.modules
    with pytest.raises(AttributeError, match="'lazypkg' has no attribute 'nope'"):
        pkg.nope


def test_an_export_wins_over_a_submodule_of_its_name(lazy_pkg):
    """gpd.adapt is the function even when gpd/adapt.py was imported first (as with the old eager imports)."""
    importlib.import_module(f"{lazy_pkg}.fit")
    from lazypkg import fit

    assert isinstance(fit, types.FunctionType) and fit() == "fitted"
    assert sys.modules["lazypkg"].fit is fit


@pytest.mark.parametrize("package", ["gandistill", "gandistill.data", "gandistill.kdit", "gandistill.gpd"])
def test_every_exported_name_resolves(package):
    pkg = importlib.import_module(package)
    for name in pkg.__all__:
        if name == "__version__":
            continue
        value = getattr(pkg, name)
        assert not isinstance(value, types.ModuleType), f"{package}.{name} is a module, not the export"
