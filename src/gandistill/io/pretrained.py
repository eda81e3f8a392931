"""Model directories: ``config.json`` (class, hyper-parameters, version, parents) + ``model.safetensors``.

    G.save_pretrained("runs/teacher/model", parents={"teacher": parent_hash})
    G = Generator.from_pretrained("runs/teacher/model")

A directory may hold several networks under prefixes (a teacher holds ``G.`` and ``D.``);
``Generator.from_pretrained(teacher_dir)`` then loads just the generator.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .. import __version__
from ..errors import CheckpointError
from ..options import from_dict
from .atomic import atomic_path, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: refuse configs describing more parameters than this before allocating anything: the largest model this
#: package makes (StyleGAN2 1024², G + D) has ~60 M, so a config past it is corrupt or hand-edited
MAX_PARAMETERS = 2_000_000_000
CARD_NAME = "README.md"
# ``extra`` values that name files or folders (besides every ``*_dir``): stored relative to the model directory
PATH_KEYS = ("anchors",)
M = TypeVar("M", bound="PretrainedMixin")


# (resolved path, size, mtime) → hex digest, for file_sha256(memo=True)
_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path, memo: bool = False) -> str:
    """Hex SHA-256 of a file's bytes.

    ``memo`` keeps the digest per (path, size, mtime), so re-hashing a large weights file is free; use it only
    for files that are replaced, never edited in place (mtime granularity can be coarser than a quick rewrite).
    """
    key = None
    if memo:
        st = Path(path).stat()
        key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
        if key in _SHA256_MEMO:
            return _SHA256_MEMO[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    if key is not None:
        _SHA256_MEMO[key] = h.hexdigest()
    return h.hexdigest()


def read_model_config(directory: str | Path) -> dict[str, Any]:
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a model directory: {CONFIG_NAME} is missing "
                              f"(expected {CONFIG_NAME} + {WEIGHTS_NAME}, written by save_pretrained)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); the model directory is corrupt") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("config", {}), dict) \
            or not isinstance(meta.get("components", {}), dict):
        raise CheckpointError(f"{path} is not a model config (expected an object with \"class\" and \"config\"); "
                              "the model directory is corrupt")
    return meta


def model_hash(directory: str | Path, memo: bool = False) -> str:
    """Content hash of a model directory's weights: used to link students to their teachers (``memo``: see
    :func:`file_sha256`; safe here, since weights are only ever replaced whole by an atomic rename)."""
    return file_sha256(Path(directory) / WEIGHTS_NAME, memo=memo)


def save_state_dict(tensors: dict[str, torch.Tensor], directory: Path, meta: dict[str, Any]) -> str:
    """Write weights then config atomically; returns the weights' sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        save_file(contiguous, str(tmp), metadata={"format": "pt"})
    digest = model_hash(directory)
    atomic_write_text(directory / CONFIG_NAME, json.dumps({**meta, "sha256": digest}, indent=2) + "\n")
    return digest


class PretrainedMixin:
    """Adds save_pretrained / from_pretrained to an nn.Module built from one dataclass config."""

    config_class: type = object
    #: sub-networks saved under a key prefix, e.g. {"Generator": "G."} on a container class
    components: dict[str, str] = {}
    #: set by :func:`gandistill.io.registry.register_model`: what the model is, and the public name that loads it
    model_kind: str = ""
    loader: str | None = None

    def save_pretrained(self, directory: str | Path, parents: dict[str, str] | None = None,
                        extra: dict[str, Any] | None = None) -> str:
        meta = {
            "class": type(self).__name__,
            "config": dataclasses.asdict(self.config),  # type: ignore[attr-defined]
            "components": self.components,
            "gandistill_version": __version__,
            "parents": parents or {},
            "extra": portable_paths(extra or {}, directory),
        }
        digest = save_state_dict(self.state_dict(), Path(directory), meta)  # type: ignore[attr-defined]
        write_model_card(Path(directory), {**meta, "sha256": digest}, loader=self.loader)
        return digest

    @classmethod
    def from_pretrained(cls: type[M], directory: str | Path, map_location: str | torch.device = "cpu") -> M:
        directory = Path(directory)
        meta = read_model_config(directory)
        name = cls.__name__
        if meta.get("class") == name:
            prefix = ""
        elif name in meta.get("components", {}):
            prefix = meta["components"][name]
        else:
            raise CheckpointError(f"{directory} holds a {meta.get('class')!r}, which has no {name}; "
                                  f"load it with {meta.get('class')}.from_pretrained")
        try:
            cfg = from_dict(cls.config_class, meta["config"])
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{directory / CONFIG_NAME}: incompatible config ({exc})") from exc
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{weights} is missing; the model directory is incomplete")
        # sizes first, on the meta device (no memory): a corrupt config must not allocate hundreds of GB
        planned = planned_shapes(cls, cfg)
        if planned is not None:
            count = sum(math.prod(shape) for shape in planned.values())
            if count > MAX_PARAMETERS:
                raise CheckpointError(f"{directory / CONFIG_NAME} describes a {name} of {count / 1e9:.1f} billion "
                                      f"values ({count * 4 / 2**30:.0f} GiB), far beyond any model this package "
                                      "makes; the config is corrupt or edited — check its sizes (channels, "
                                      "resolution, dims)")
            check_shapes(planned, file_shapes(weights, prefix), name, str(weights))
        model = cls(cfg)  # type: ignore[call-arg]
        try:
            tensors = load_file(str(weights), device=str(map_location))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{weights} cannot be read ({exc}); it is truncated or corrupt — "
                                  "re-export the model") from exc
        if prefix:
            tensors = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        load_checked(model, tensors, str(weights))  # type: ignore[arg-type]
        model.source_dir = directory  # type: ignore[attr-defined]
        model.source_hash = meta.get("sha256")  # type: ignore[attr-defined]
        model.parents = meta.get("parents", {})  # type: ignore[attr-defined]
        return model


def planned_shapes(cls: type, cfg: Any) -> dict[str, tuple[int, ...]] | None:
    """The state-dict shapes ``cls(cfg)`` would have, built on the meta device (allocates nothing);
    None when the class cannot be built there (then the later checks still apply)."""
    try:
        with torch.device("meta"):
            model = cls(cfg)
    except Exception:  # noqa: BLE001 — a class with data-dependent set-up: skip the early check
        return None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def file_shapes(weights: Path, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """Tensor shapes in a safetensors file, from its header only (under ``prefix``, with it stripped)."""
    try:
        with safe_open(str(weights), framework="pt") as fh:
            return {k[len(prefix):]: tuple(fh.get_slice(k).get_shape()) for k in fh.keys() if k.startswith(prefix)}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights} cannot be read ({exc}); it is truncated or corrupt — "
                              "re-export the model") from exc


def check_shapes(own: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], model_name: str,
                 origin: str) -> None:
    """A CheckpointError listing missing / unexpected / mis-shaped keys of ``found`` against ``own``."""
    missing = sorted(set(own) - set(found))
    unexpected = sorted(set(found) - set(own))
    shapes = [f"{k}: file {list(found[k])} vs model {list(own[k])}"
              for k in own if k in found and tuple(found[k]) != tuple(own[k])]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys (e.g. {missing[:5]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} keys (e.g. {unexpected[:5]})")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:5]))
        raise CheckpointError(f"{origin} does not fit {model_name}: " + ", ".join(parts) +
                              ". Was it saved from a different architecture or config?")


def load_checked(model: torch.nn.Module, tensors: dict[str, torch.Tensor], origin: str) -> None:
    """load_state_dict with an error that lists missing/unexpected/mis-shaped keys and names the file."""
    check_shapes({k: tuple(v.shape) for k, v in model.state_dict().items()},
                 {k: tuple(v.shape) for k, v in tensors.items()}, type(model).__name__, origin)
    model.load_state_dict(tensors)


def check_parent(child: Any, parent: Any, role: str = "teacher") -> None:
    """Refuse a (child, parent) pair that was not made together.

    ``child`` / ``parent`` are loaded models (with ``parents`` / ``source_hash``) or model directories.
    A child records the weights hash of each parent it was derived from (``parents[role]``); a child
    that records none for ``role`` is accepted (e.g. imported or trained from scratch).
    """
    parents = read_model_config(child).get("parents", {}) if isinstance(child, (str, Path)) \
        else getattr(child, "parents", {}) or {}
    have = model_hash(parent) if isinstance(parent, (str, Path)) else getattr(parent, "source_hash", None)
    want = parents.get(role)
    if want and have and want != have:
        name = lambda m: str(m) if isinstance(m, (str, Path)) else str(getattr(m, "source_dir", type(m).__name__))  # noqa: E731
        raise CheckpointError(f"{name(child)} was made from a {role} with weights {want[:12]}…, but {name(parent)} "
                              f"has {have[:12]}…; pass the {role} it was made from (or retrain against this one)")


def recorded_parent_dir(child_dir: str | Path, given: str | Path | None = None, role: str = "teacher") -> Path:
    """The parent model directory of ``child_dir``: ``given``, else the path recorded at save time
    (``extra["<role>_dir"]``); the pair is checked with :func:`check_parent` either way."""
    if given:
        path = Path(given)
    else:
        recorded = recorded_path(child_dir, f"{role}_dir")
        if not recorded or not recorded.is_dir():
            raise CheckpointError(f"{child_dir} does not record a reachable {role} ({recorded!r}); "
                                  f"pass --{role} DIR")
        path = Path(recorded)
    check_parent(child_dir, path, role)
    return path


def _is_path_key(key: str) -> bool:
    return key.endswith("_dir") or key in PATH_KEYS


def portable_paths(extra: dict[str, Any], directory: str | Path) -> dict[str, Any]:
    """``extra`` with its path values made relative to the model directory, so that the record holds
    whatever the working directory is when the model is loaded, and when the runs folder moves as a whole."""
    base = Path(directory).resolve()
    out = dict(extra)
    for key, value in extra.items():
        if _is_path_key(key) and isinstance(value, (str, Path)) and str(value):
            try:
                out[key] = Path(os.path.relpath(Path(value).resolve(), base)).as_posix()
            except ValueError:  # another drive (Windows): no relative path exists
                out[key] = str(Path(value).resolve())
    return out


def recorded_path(directory: str | Path, key: str) -> Path | None:
    """The path recorded as ``extra[key]`` in a model directory, resolved against that directory
    (models saved before paths were relative recorded them against the working directory; those still load)."""
    value = read_model_config(directory).get("extra", {}).get(key)
    if not value:
        return None
    path = Path(value)
    if path.is_absolute():
        return path
    here = (Path(directory) / path).resolve()
    return path if not here.exists() and path.exists() else here


def _command_line() -> str:
    """The ``gandistill`` command that is running, or '' when the model is saved from Python."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if argv0.name == "gandistill" or argv0.as_posix().endswith("gandistill/cli/main.py"):
        return shlex.join(["gandistill", *sys.argv[1:]])
    return ""


def _yaml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON scalar is a valid YAML flow scalar


def write_model_card(directory: Path, meta: dict[str, Any], loader: str | None = None) -> None:
    """``README.md`` with YAML front matter (license, base model, parent hashes, data, metrics, command)
    next to a saved model, so a copied model directory says what it is and how it was made; ``loader``
    (a dotted public name, e.g. ``gandistill.KDITStudent``) adds the lines that load it."""
    extra = meta.get("extra", {})
    run_dir = directory.parent  # <run>/model: the run's options are in <run>/config.json
    run_cfg: dict[str, Any] = {}
    try:
        loaded = json.loads((run_dir / CONFIG_NAME).read_text(encoding="utf-8"))
        run_cfg = loaded if isinstance(loaded, dict) and "class" not in loaded else {}
    except (OSError, ValueError):
        pass
    base = next((extra[k] for k in ("adapted_dir", "teacher_dir", "student_dir") if extra.get(k)), None)
    data = {k: run_cfg[k] for k in ("data", "target", "anchors") if run_cfg.get(k)}
    metrics = extra.get("metrics")
    if metrics is None and (directory / "metrics.json").is_file():
        try:
            metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8")).get("metrics")
        except (OSError, ValueError, AttributeError):
            metrics = None
    command = _command_line()
    lines = ["---", "library_name: gandistill", "license: mit", f"tags: [gandistill, {_yaml(meta['class'])}]",
             f"model_class: {_yaml(meta['class'])}", f"gandistill_version: {_yaml(meta.get('gandistill_version'))}",
             f"sha256: {_yaml(meta.get('sha256'))}"]
    if base:
        lines.append(f"base_model: {_yaml(base)}")
    if meta.get("parents"):
        lines.append("parents:")
        lines += [f"  {k}: {_yaml(v)}" for k, v in meta["parents"].items()]
    if data:
        lines.append("data:")
        lines += [f"  {k}: {_yaml(str(v))}" for k, v in data.items()]
    if metrics:
        lines.append("metrics:")
        lines += [f"  {k}: {_yaml(v)}" for k, v in metrics.items()
                  if isinstance(v, str) or (isinstance(v, (int, float)) and v == v and abs(v) != float("inf"))]
    lines.append(f"command: {_yaml(command or None)}")
    lines.append("---")
    cls = meta["class"]
    lines += ["", f"# {cls} (gandistill {meta.get('gandistill_version')})", "",
              f"Weights: `{WEIGHTS_NAME}` (sha256 `{meta.get('sha256')}`); options: `{CONFIG_NAME}`.", ""]
    if base:
        lines += [f"Made from `{base}` (path relative to this folder)"
                  + (f", step {extra['step']}." if "step" in extra else "."), ""]
    lines += ["Made with:" if command else "Saved from Python.", ""]
    if command:
        lines += ["```bash", command, "```", ""]
    if loader:
        module, _, name = loader.rpartition(".")
        lines += ["Load it (from the folder that holds this one):", "", "```python", f"from {module} import {name}",
                  f"model = {name}.from_pretrained({_yaml(directory.name)})", "```", ""]
    atomic_write_text(directory / CARD_NAME, "\n".join(lines))
