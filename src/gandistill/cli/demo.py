"""``gandistill demo``: the whole pipeline on built-in data, with an HTML report."""
from __future__ import annotations

import argparse

from ..options import add_dataclass_args, from_args


def register(sub: argparse._SubParsersAction) -> None:
    from ..demo.pipeline import DemoConfig

    p = sub.add_parser("demo", help="run the pipeline on built-in toyfaces and write runs/demo/report.html",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="The whole pipeline on built-in toyfaces at small size, with one progress bar:\n"
                                   "  data → StyleGAN2 teacher → samples, style mixing, FID/KID\n"
                                   "       → KDIT: triplets → I2I distillation → sketch→photo fine-tuning → held-out\n"
                                   "       → GPD: adapt to 10 sketches → anchors → anchor KD student → held-out\n"
                                   "and <out>/report.html (grids, metric tables, loss plots, commands to reproduce\n"
                                   "each stage at full size). About 9 minutes on a 2-core CPU; --fast about a\n"
                                   "minute. Finished stages are reused when run again with the same settings, an\n"
                                   "interrupted stage resumes (--fresh to redo everything).\n\n"
                                   "  gandistill demo\n  gandistill demo --fast --out runs/demo-fast")
    add_dataclass_args(p, DemoConfig)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..demo.pipeline import DemoConfig, run_demo

    run_demo(from_args(DemoConfig, args))
    return 0
