"""Typed options: one dataclass definition gives CLI options, JSON loading and checking.

Every run directory gets a ``config.json`` with the fully resolved values (written by
:func:`gandistill.io.atomic.dump_json`), so a run can be reproduced from it alone (``--config run/config.json``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import OptionError

T = TypeVar("T")


def _base_type(tp: Any) -> tuple[Any, bool]:
    """Return (inner type, optional?) for ``X | None`` / ``Optional[X]`` annotations."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _converter(tp: Any):
    tp, optional = _base_type(tp)
    origin = typing.get_origin(tp)

    def none_or(f):
        if not optional:
            return f
        return lambda s: None if s.lower() in ("none", "null", "") else f(s)

    if tp is bool:
        return none_or(_parse_bool)
    if tp in (int, float, str):
        return none_or(tp)
    if origin in (list, tuple):
        (inner,) = {a for a in typing.get_args(tp) if a is not Ellipsis} or {str}
        conv = _converter(inner)
        return none_or(lambda s: [conv(x) for x in s.split(",") if x.strip() != ""])
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        def lit(s: str):
            if s not in choices:
                raise argparse.ArgumentTypeError(f"choose from {', '.join(map(str, choices))}")
            return s
        return none_or(lit)
    if origin is dict or tp is dict:
        return none_or(json.loads)
    return none_or(str)


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, prefix: str = "", *,
                       with_defaults: bool = False) -> None:
    """Add one ``--option`` per dataclass field; help text comes from ``field.metadata['help']``.

    Options not given are left out of the parsed args (so :func:`from_args` can tell them from a base's
    values) unless ``with_defaults``: then they hold the field's default, for commands that read ``args``,
    and a field marked ``required=True`` must be given (a config's own check covers the others, whose values
    may come from ``--config``). A field's ``formerly`` names (see :func:`field`) stay accepted as options.
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init or f.metadata.get("cli", True) is False:
            continue
        name = "--" + prefix + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        tp = hints[f.name]
        base, _ = _base_type(tp)
        shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        help_text = f.metadata.get("help", "")
        if shown in (None, "") and ("default" in help_text or "required" in help_text):
            suffix = ""  # the help already says what an unset option means
        else:
            suffix = f" (default: {'none' if isinstance(default, (list, tuple)) and not default else shown})"
        dest = prefix.replace("-", "_") + f.name
        unset = default if with_defaults else argparse.SUPPRESS
        if base is bool:
            kind: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
        else:
            metavar = f.metadata.get("metavar")
            if metavar is None:
                metavar = "{" + ",".join(map(str, typing.get_args(base))) + "}" if typing.get_origin(base) is \
                    typing.Literal else (base.__name__.upper() if isinstance(base, type) else "LIST")
            kind = {"type": _converter(tp), "metavar": metavar,
                    "required": with_defaults and f.metadata.get("required", False)}
        parser.add_argument(name, dest=dest, default=unset, help=help_text + suffix, **kind)
        for old in _former_names(f):  # old spellings keep working; the help points to the new one
            parser.add_argument("--" + prefix + old.replace("_", "-"), dest=dest, default=argparse.SUPPRESS,
                                help=f"former name of {name}", **{k: v for k, v in kind.items() if k != "required"})


def from_args(cls: type[T], args: argparse.Namespace, prefix: str = "", base: T | None = None) -> T:
    """Build ``cls`` from parsed args; options not given keep ``base``'s (or the default) values."""
    values = dataclasses.asdict(base) if base is not None else {}
    for f in dataclasses.fields(cls):
        key = prefix.replace("-", "_") + f.name
        if hasattr(args, key):
            values[f.name] = getattr(args, key)
    try:
        return from_dict(cls, values)
    except OptionError:
        raise
    except (TypeError, ValueError) as exc:  # a config's own check (__post_init__) refused the values
        raise OptionError(f"invalid options: {exc}") from exc


def _type_name(tp: Any) -> str:
    tp, optional = _base_type(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        name = "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    elif origin in (list, tuple):
        name = "a list"
    else:
        name = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
                dict: "an object"}.get(tp, getattr(tp, "__name__", str(tp)))
    return name + (" or null" if optional else "")


def _type_ok(tp: Any, value: Any) -> bool:
    """Whether a JSON value fits a field annotation (int for float is fine, bool for int is not)."""
    tp, optional = _base_type(tp)
    if value is None:
        return optional
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if origin in (list, tuple):
        inner = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return isinstance(value, (list, tuple)) and all(_type_ok(inner[0], v) for v in value) if inner else \
            isinstance(value, (list, tuple))
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, (str, os.PathLike))
    if tp is dict or origin is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(tp):
        return isinstance(value, (dict, tp))
    return True  # an annotation this checker does not know: the class's own checks decide


def from_dict(cls: type[T], data: dict[str, Any], strict: bool = True) -> T:
    """Build a (possibly nested) dataclass from a JSON-like dict, rejecting unknown keys and values of the
    wrong type (an :class:`OptionError` naming the field)."""
    if not isinstance(data, dict):
        raise OptionError(f"{cls.__name__}: expected a JSON object of options, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    data = _renamed_keys(cls, data)
    unknown = set(data) - names
    if unknown and strict:
        raise OptionError(f"{cls.__name__}: unknown option(s) {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            continue
        if not _type_ok(hints[key], value):
            raise OptionError(f"{cls.__name__}.{key} must be {_type_name(hints[key])}, got {value!r}")
        tp, _ = _base_type(hints[key])
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = from_dict(tp, value, strict)
        elif typing.get_origin(tp) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)  # type: ignore[call-arg]


def _former_names(f: dataclasses.Field) -> tuple[str, ...]:
    old = f.metadata.get("formerly", ())
    return (old,) if isinstance(old, str) else tuple(old)


def _renamed_keys(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the former names of ``cls``'s options replaced by the current ones (older config.json)."""
    data = dict(data)
    for f in dataclasses.fields(cls):
        for old in _former_names(f):
            if old not in data:
                continue
            if f.name in data and data[f.name] != data[old]:
                raise OptionError(f"{cls.__name__}: {old!r} is the former name of {f.name!r} and both are given "
                                  f"with different values; keep only {f.name!r}")
            data[f.name] = data.pop(old)
    return data


def with_absent(cls: type, data: Any) -> Any:
    """A run's *recorded* options completed with what older versions meant by fields they did not have yet
    (a field's ``absent`` value; see :func:`field`); other missing fields take their defaults later. Anything
    but a dict is returned as it is, for :func:`from_dict` to refuse."""
    if not isinstance(data, dict):
        return data
    data = _renamed_keys(cls, data)
    for f in dataclasses.fields(cls):
        if "absent" in f.metadata and f.name not in data:
            data[f.name] = f.metadata["absent"]
    return data


def load_config(cls: type[T], path: str | Path, recorded: bool = False) -> T:
    """``from_dict(cls, <json file>)`` with errors that name the file; ``recorded``: the file is a run's own
    config.json (complete when written), so fields it lacks are filled by :func:`with_absent`."""
    data = read_json(path)
    try:
        return from_dict(cls, with_absent(cls, data) if recorded else data)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{path}: {exc}; fix the file or start without it") from exc


def field(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:
    """``dataclasses.field`` with a help text (shown by ``--help``); mutable defaults are copied.

    ``meta`` may hold ``metavar``, ``required`` (see :func:`add_dataclass_args`), ``cli=False`` (no option),
    ``formerly``: the option's earlier name(s), still read from config.json files and accepted as flags, and
    ``absent``: the value that runs recorded before the option existed had (so they resume unchanged)."""
    metadata = {"help": help, **meta}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_like(cls: type, name: str, default: Any = dataclasses.MISSING, help: str | None = None) -> Any:
    """Option ``name`` of dataclass ``cls`` again, for a config that holds it under another name or with another
    default: its help (unless ``help``) and its default (unless ``default``) stay written once, in ``cls``."""
    try:
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
    except StopIteration:
        raise TypeError(f"{cls.__name__} has no option {name!r}") from None
    if default is dataclasses.MISSING:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    return field(default, **{**f.metadata, **({} if help is None else {"help": help})})


def option_values(cls: type, obj: Any) -> dict[str, Any]:
    """``obj``'s values of the options of dataclass ``cls`` (a shared option block, e.g. to build ``cls``)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(cls) if f.init}


@dataclasses.dataclass
class DeviceOption:
    """``--device``, shared by every command that runs a network (plain commands: ``with_defaults=True``)."""

    device: str = field("auto", help="torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N",
                        metavar="DEVICE")


def read_json(path: str | Path) -> dict[str, Any]:
    from .errors import GandistillError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GandistillError(f"cannot read config {path}: {exc}") from exc
