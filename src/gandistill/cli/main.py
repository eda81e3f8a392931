"""Entry point of the ``gandistill`` console script.

Each stage lives in its own module under ``gandistill.cli`` exposing ``register(subparsers)``;
a registered parser sets ``func`` (called with the parsed args, returns an exit code).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .. import __version__
from ..errors import GandistillError, one_line_warnings

# Modules that add sub-commands, in the order shown by --help.
STAGES = ["data", "teacher", "triplets", "kdit", "gpd", "evaluate", "translate", "serve", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gandistill",
        description="Distil pretrained GANs into fast conditional image translators with limited data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gandistill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in STAGES:
        try:
            module = importlib.import_module(f"gandistill.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("gandistill.cli."):
                continue  # stage not built yet
            raise
        module.register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # CLI users get the message, not the library source line Python prints by default
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    one_line_warnings()
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except GandistillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last completed checkpoint is intact (use --resume latest)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
