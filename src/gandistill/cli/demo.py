"""``gandistill demo``: the whole pipeline on built-in data, with an HTML report."""
from __future__ import annotations

import argparse

from ..config import add_dataclass_args, from_args


def register(sub: argparse._SubParsersAction) -> None:
    from ..demo.pipeline import DemoConfig

    p = sub.add_parser("demo", help="run the pipeline on built-in toyfaces and write runs/demo/report.html",
                       description="Built-in data → StyleGAN2 teacher → samples, style mixing, FID/KID → "
                                   "report.html. Finished stages are reused when run again (--fresh to redo).")
    add_dataclass_args(p, DemoConfig)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..demo.pipeline import DemoConfig, run_demo

    run_demo(from_args(DemoConfig, args))
    return 0
