"""Entry point of the ``gandistill`` console script.

Each stage lives in its own module under ``gandistill.cli`` exposing ``register(subparsers)``;
a registered parser sets ``func`` (called with the parsed args, returns an exit code).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import sys
from pathlib import Path

from .. import __version__
from ..errors import GandistillError, one_line_warnings
from ..io.atomic import TEMP_RE

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


# what to do about a failed file operation, by errno (the message names the path)
_FIXES = {
    errno.EACCES: "no permission there: choose a folder you may write to (for outputs) or fix its permissions",
    errno.EPERM: "not permitted there: choose a folder you may write to (for outputs) or fix its permissions",
    errno.EROFS: "the file system is read-only: choose an output folder on a writable disk",
    errno.ENOSPC: "the disk is full: free some space or write to another disk (completed files were kept intact)",
    errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere (completed files were kept intact)",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another output path or move the file",
    errno.EEXIST: "a file is in the way where a folder is needed: choose another output path or move the file",
    errno.EISDIR: "that is a folder where a file is needed: choose another path",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
    errno.ENOENT: "no such file or folder: check the path",
}
_OUTPUT_OPTIONS = ("out", "output", "dir")  # where to point when the OS error names no file


def describe_os_error(exc: OSError, args: argparse.Namespace | None = None) -> str:
    """One line for a failed file operation: the path, what went wrong and what to do about it."""
    path = exc.filename2 or exc.filename  # a failed rename: the destination is the interesting one
    if path is not None:
        p = Path(str(path))
        temp = TEMP_RE.match(p.name)
        path = p.parent / temp.group(1) if temp else p  # an atomic write's temp file stands for its target
    elif args is not None:  # e.g. ENOSPC from a write() names no file: name the output option
        for name in _OUTPUT_OPTIONS:
            if getattr(args, name, None) is not None:
                path = f"--{name} {getattr(args, name)}"
                break
    where = str(path) if path is not None else "a file"
    fix = _FIXES.get(exc.errno or -1, "check the path and its disk")
    return f"cannot use {where}: {exc.strerror or exc}; {fix}"
def main(argv: list[str] | None = None) -> int:
    one_line_warnings()  # CLI users get the message, not the library source line Python prints by default
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except GandistillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # read-only or full disk, a file where a folder belongs…: one line, no traceback
        print(f"error: {describe_os_error(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last completed checkpoint is intact (use --resume latest)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
