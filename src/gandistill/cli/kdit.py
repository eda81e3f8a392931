"""``gandistill kdit distill|finetune``: KDIT data-free distillation and limited-data fine-tuning."""
from __future__ import annotations

import argparse
import os

from .stage_config import add_stage_options, resolve_stage_config


def register(sub: argparse._SubParsersAction) -> None:
    from ..kdit.distill import DistillConfig
    from ..kdit.finetune import FinetuneConfig

    p = sub.add_parser("kdit", help="KDIT: distil a teacher into a translator on style-mixed triplets, "
                       "then fine-tune on limited pairs",
                       description="KDIT (Wang et al., ICLR 2022): first `distill` the teacher into an I2I "
                       "(image/segmentation → image) or X2I (text/audio → image) student on style-mixed "
                       "triplets, with no data; then `finetune` it on a few real pairs. See docs/kdit.md.")
    ksub = p.add_subparsers(dest="kdit_command", metavar="ACTION")
    p.set_defaults(func=lambda a: p.print_help() or 1)
    for name, cls, func, desc in (
        ("distill", DistillConfig, _distill,
         "Data-free distillation of the teacher into an I2I or X2I student on style-mixed triplets.\n\n"
         "  gandistill kdit distill --teacher runs/teacher/model --student i2i --out runs/kdit-i2i\n"
         "  gandistill kdit distill --out runs/kdit-i2i --resume latest\n"
         "  torchrun --nproc_per_node=4 -m gandistill.cli.main kdit distill ... --batch 32   # several GPUs"),
        ("finetune", FinetuneConfig, _finetune,
         "Fine-tune a distilled student on limited real pairs (image, seg, text or audio → image).\n\n"
         "  gandistill kdit finetune --modality seg --student runs/kdit-i2i/model --data data/toyfaces "
         "--n-pairs 50\n"
         "  gandistill kdit finetune --modality text --student runs/kdit-x2i/model --data data/toyfaces "
         "--from-scratch\n"
         "  torchrun --nproc_per_node=4 -m gandistill.cli.main kdit finetune ... --batch 32  # several GPUs"),
    ):
        s = ksub.add_parser(name, help=desc.splitlines()[0], description=desc,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        add_stage_options(s, cls)
        s.set_defaults(func=func)


def _main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 reports


def _distill(args: argparse.Namespace) -> int:
    from ..kdit.distill import distill

    model_dir = distill(resolve_stage_config(args), dry_run=args.dry_run)
    if not args.dry_run and _main_process():
        print(f"student model: {model_dir}")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from ..kdit.finetune import finetune

    model_dir = finetune(resolve_stage_config(args), dry_run=args.dry_run)
    if not args.dry_run and _main_process():
        print(f"fine-tuned model: {model_dir}")
    return 0
