"""The options every training stage's command shares: ``--config FILE``, ``--dry-run`` and keep-config-on-resume.

    add_stage_options(parser, AdaptConfig)            # --config, --dry-run, one --option per field
    cfg = resolve_stage_config(args)                  # file / saved run / defaults, then the flags given

Where a stage's options start from, first match wins: ``--config FILE``; on ``--resume``, the run's own
``<out>/config.json`` (so a resumed run keeps what it was started with); a named ``start`` (the teacher's
``--preset``); the dataclass defaults. Only options given on the command line override that base.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..options import add_dataclass_args, from_args, load_config

CONFIG_HELP = "start from this config.json (options given here override it)"


def add_stage_options(parser: argparse.ArgumentParser, cls: type, *, title: str = "options",
                      nested: dict[str, tuple[type, str]] | None = None,
                      dry_run: str = "check the inputs, print the resolved config, exit (writes nothing)") -> None:
    """``--config``, ``--dry-run`` and one option per field of ``cls`` (``nested``: field name → (dataclass,
    group title) for a nested config whose options are given flat, as the teacher's architecture)."""
    parser.add_argument("--config", type=Path, help=CONFIG_HELP)
    parser.add_argument("--dry-run", action="store_true", help=dry_run)
    add_dataclass_args(parser.add_argument_group(title), cls)
    for sub_cls, sub_title in (nested or {}).values():
        add_dataclass_args(parser.add_argument_group(sub_title), sub_cls)
    parser.set_defaults(_stage_config=(cls, dict(nested or {})))


def resolve_stage_config(args: argparse.Namespace, start: Any = None) -> Any:
    """The stage's config from ``args`` (see the module doc for the order); ``start`` is a new run's base."""
    cls, nested = args._stage_config
    base = start
    if args.config:
        base = load_config(cls, args.config)
    elif getattr(args, "resume", None):
        saved = Path(getattr(args, "out", cls.out)) / "config.json"
        if saved.is_file():  # a resumed run keeps its recorded options; those given now override them
            base = load_config(cls, saved, recorded=True)
    cfg = from_args(cls, args, base=base)
    for name, (sub_cls, _) in nested.items():
        setattr(cfg, name, from_args(sub_cls, args, base=getattr(cfg, name)))
    return cfg
