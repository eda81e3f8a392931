"""The layering rule (DESIGN §4, the picture in docs/design.md): a module imports only from its own layer or below.

Every ``import`` and ``from … import`` in ``src/gandistill`` counts, relative or absolute, at module level or
inside a function, class or ``if TYPE_CHECKING`` block. A name re-exported lazily by a package's ``__init__.py``
(its ``_EXPORTS`` table: the root, ``data``, ``kdit``, ``gpd``) counts as an import of the module that defines it;
any other ``from pkg import name`` counts as an import of the submodule ``pkg.name`` when there is one.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "gandistill"

# The layers, bottom first. A module belongs to the layer of the longest entry that names it or a package above
# it; "pkg.__init__" names the package's own module only (teacher/__init__ re-exports networks, while the rest
# of teacher/ is the teacher's training method).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", (
        "gandistill.__init__",  # __version__ and lazy re-exports (loaded on first use, never at import)
        "gandistill.lazy_exports",  # the mechanism of the lazy re-exports
        "gandistill.errors", "gandistill.options",
    )),
    ("persistence", (
        "gandistill.io",  # atomic files, model directories, the model-class registry, training state, downloads
    )),
    ("networks", (
        "gandistill.teacher.__init__", "gandistill.teacher.config", "gandistill.teacher.ops",
        "gandistill.teacher.layers", "gandistill.teacher.generator", "gandistill.teacher.discriminator",
        "gandistill.teacher.projected_discriminator", "gandistill.teacher.efficientnet_lite",
        "gandistill.teacher.model",
        "gandistill.kdit.config", "gandistill.kdit.nets", "gandistill.kdit.i2i", "gandistill.kdit.x2i",
        "gandistill.kdit.encoders", "gandistill.kdit.text",
        "gandistill.gpd.networks",
        "gandistill.importers",  # rosinality / NVlabs checkpoints → teacher networks
        "gandistill.models",  # imports every model class so the registry is complete
    )),
    ("engine", (
        "gandistill.train", "gandistill.utils", "gandistill.data",
    )),
    ("methods", (
        "gandistill.teacher", "gandistill.kdit", "gandistill.gpd", "gandistill.metrics",
    )),
    ("apps", (
        "gandistill.cli", "gandistill.serve", "gandistill.demo", "gandistill.api",
    )),
]

# Upward imports in code that another helper is rewriting right now: (importer, imported) → owner and plan.
# Each entry must still occur (test_allowances_are_still_needed); delete it when its owner lands the fix.
ALLOWED: dict[tuple[str, str], str] = {}


def layer_index() -> dict[str, int]:
    return {entry: i for i, (_, entries) in enumerate(LAYERS) for entry in entries}


def layer_of(module: str, table: dict[str, int] | None = None) -> int | None:
    """The layer number of a dotted module name (a package's own module is ``pkg``), or None if unlisted."""
    table = layer_index() if table is None else table
    if module + ".__init__" in table:
        return table[module + ".__init__"]
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in table and prefix != ROOT:
            return table[prefix]
    return None


def find_modules(src: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is a package) for every module under ``src/gandistill``."""
    found = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return found


def lazy_exports(src: Path) -> dict[str, dict[str, str]]:
    """Package → {name → defining module} of every package's ``_EXPORTS`` table (read from the source)."""
    found = {}
    for package, (path, is_pkg) in find_modules(src).items():
        if not is_pkg:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
            if any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in targets) and node.value is not None:
                table = ast.literal_eval(node.value)
                found[package] = {name: package + module if module.startswith(".") else module
                                  for name, (module, _) in table.items()}
    return found


def imports_of(module: str, path: Path, is_pkg: bool, modules: dict,
               exports: dict[str, dict[str, str]]) -> list[tuple[int, str]]:
    """(line, imported gandistill module) for every import statement anywhere in the file."""
    found = []
    package = module if is_pkg else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == ROOT]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if alias.name in exports.get(target, {}):  # a lazy export wins over a submodule of its name
                    found.append((node.lineno, exports[target][alias.name]))
                elif sub in modules:
                    found.append((node.lineno, sub))
                else:
                    found.append((node.lineno, target))
    return found


def upward_imports(src: Path = SRC) -> list[tuple[str, str, str]]:
    """(importer, imported, message) for every import that points to a higher layer."""
    modules, exports, table = find_modules(src), lazy_exports(src), layer_index()
    names = [name for name, _ in LAYERS]
    bad = []
    for module, (path, is_pkg) in modules.items():
        own = layer_of(module, table)
        for line, target in sorted(set(imports_of(module, path, is_pkg, modules, exports))):
            other = layer_of(target, table)
            if own is not None and other is not None and other > own:
                where = f"{path.relative_to(src.parent) if src.parent in path.parents else path}:{line}"
                bad.append((module, target, f"{where}: {module} ({names[own]}) imports {target} ({names[other]}), "
                                            f"a higher layer"))
    return bad


def test_every_module_has_a_layer():
    unlisted = [m for m in find_modules(SRC) if layer_of(m) is None]
    assert not unlisted, f"modules with no layer: {unlisted}; add them to LAYERS in tests/test_layers.py"


def test_every_layer_entry_names_a_module():
    modules = find_modules(SRC)
    stale = [e for _, entries in LAYERS for e in entries if e.removesuffix(".__init__") not in modules]
    assert not stale, f"LAYERS names modules that do not exist: {stale}; update tests/test_layers.py"


def test_no_module_imports_from_a_higher_layer():
    bad = [msg for importer, target, msg in upward_imports() if (importer, target) not in ALLOWED]
    assert not bad, ("imports that point up the layers (DESIGN §4; move the code down or the import up):\n  "
                     + "\n  ".join(bad))


def test_allowances_are_still_needed():
    found = {(importer, target) for importer, target, _ in upward_imports()}
    stale = [f"{a} -> {b} (owner: {owner})" for (a, b), owner in ALLOWED.items() if (a, b) not in found]
    assert not stale, f"ALLOWED entries no longer needed, delete them from tests/test_layers.py: {stale}"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("code, target", [
    ("from ..cli.main import run\n", "gandistill.cli.main"),                    # relative
    ("def f():\n    import gandistill.cli.main\n", "gandistill.cli.main"),       # function-local, absolute
    ("class A:\n    def f(self):\n        from .. import cli\n", "gandistill.cli"),   # submodule by name
    ("from gandistill import Thing\n", "gandistill.cli.main"),                  # the root's lazy re-export
    ("from ..cli import Late\n", "gandistill.cli.main"),                        # a subpackage's lazy re-export
])
def test_the_checker_finds_upward_imports(tmp_path, code, target):
    src = _tree(tmp_path, {"__init__.py": '_EXPORTS = {"Thing": (".cli.main", "Thing")}\n',
                           "errors.py": "", "io/__init__.py": "", "io/low.py": code,
                           "cli/__init__.py": '_EXPORTS = {"Late": (".main", "Late")}\n',
                           "cli/main.py": "from ..io import low\n"})
    found = upward_imports(src)
    assert [(a, b) for a, b, _ in found] == [("gandistill.io.low", target)]
    assert "gandistill.io.low (persistence) imports" in found[0][2] and "(apps), a higher layer" in found[0][2]


def test_a_lazy_name_counts_as_the_module_that_defines_it(tmp_path):
    """``from gandistill.gpd import Net`` in a network module is fine when ``Net`` comes from ``gpd.networks``."""
    src = _tree(tmp_path, {"__init__.py": "", "errors.py": "", "teacher/__init__.py": "",
                           "teacher/model.py": "from gandistill.gpd import Net\n",
                           "gpd/__init__.py": '_EXPORTS = {"Net": (".networks", "Net"), "fit": (".fit", "fit")}\n',
                           "gpd/networks.py": "", "gpd/fit.py": ""})
    assert upward_imports(src) == []
    (src / ROOT / "teacher" / "model.py").write_text("from gandistill.gpd import Net, fit\n")
    assert [(a, b) for a, b, _ in upward_imports(src)] == [("gandistill.teacher.model", "gandistill.gpd.fit")]


def test_importing_the_networks_loads_no_higher_layer():
    """The package ``__init__`` files re-export lazily, so a network module's import (a model card, ``serve``)
    does not load the training engine or a method's training modules (checked in a fresh interpreter)."""
    table = layer_index()
    networks = [name for name, _ in LAYERS].index("networks")
    wanted = [e.removesuffix(".__init__") for e in LAYERS[networks][1]]
    code = ("import importlib, sys\n"
            f"for name in {wanted!r}:\n    importlib.import_module(name)\n"
            "print('\\n'.join(m for m in sys.modules if m.split('.')[0] == 'gandistill'))\n")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.split()
    assert "gandistill.gpd.networks" in loaded and "gandistill.kdit.i2i" in loaded
    # the packages above a wanted module are loaded too; their __init__ holds only a lazy table
    parents = {".".join(m.split(".")[:n]) for m in wanted for n in range(1, m.count(".") + 1)}
    higher = sorted(m for m in loaded if m not in parents and (layer_of(m, table) or 0) > networks)
    assert not higher, f"importing the network modules loaded modules of a higher layer: {higher}"


def _expand(token: str) -> list[str]:
    """``a/{b,c}.py`` → ``["a/b.py", "a/c.py"]`` (one brace group, as the doc writes module lists)."""
    head, brace, rest = token.partition("{")
    if not brace:
        return [token]
    inner, _, tail = rest.partition("}")
    return [head + part + tail for part in inner.split(",")]


def _entry(path: str) -> str:
    """A path as the doc writes it (``io/``, ``gpd/networks.py``, ``__init__.py``) → a LAYERS entry."""
    parts = [ROOT] + path.removesuffix("/").removesuffix(".py").split("/")
    return ".".join(parts)


def test_design_doc_shows_the_same_layers():
    """docs/design.md's picture lists, one line per layer, exactly the entries of LAYERS."""
    text = (SRC.parent / "docs" / "design.md").read_text(encoding="utf-8")
    section = re.search(r"^## [\d. ]*Layers\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "docs/design.md has no '## Layers' section"
    lines = {}
    for line in section.group(1).splitlines():
        match = re.match(r"- \*\*(\w+)\*\* — (.*)", line)
        if match:
            lines[match.group(1)] = {_entry(p) for tok in re.findall(r"`([^`]+)`", match.group(2)) for p in _expand(tok)}
    assert list(lines) == [name for name, _ in reversed(LAYERS)], "docs/design.md lists other layers than LAYERS"
    for name, entries in LAYERS:
        assert lines[name] == set(entries), (f"docs/design.md's {name} line differs from LAYERS: "
                                             f"only in the doc {sorted(lines[name] - set(entries))}, "
                                             f"only in the test {sorted(set(entries) - lines[name])}")
