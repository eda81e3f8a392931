"""The demo's "full size on GPUs" recipe: one command per stage, each reading what an earlier one wrote
(or one of the :data:`USER_INPUTS`), so the lines run top to bottom as printed in the report.

The KDIT half trains and fine-tunes on toyfaces at 256 px; the GPD half starts from the same teacher and
your own ten example pairs. tests/test_demo.py parses every line with the real CLI parser and checks
that its inputs chain.
"""
from __future__ import annotations

TEACHER = "runs/teacher256"  # the one name of the teacher's run directory (its model: TEACHER/model)

# stage → the command lines of that stage, in the order the report prints them
FULL_SIZE: dict[str, list[str]] = {
    "data": ["gandistill data toyfaces --out data/toyfaces256 --n 50000 --res 256",
             "gandistill data toyfaces --out data/pairs256 --n 300 --res 256 --seed 1"],
    "teacher": [f"torchrun --nproc_per_node=8 -m gandistill.cli.main teacher train --out {TEACHER} "
                "--data data/toyfaces256/photo --resolution 256 --batch 64 --batch-gpu 8 --steps 40000 "
                "--channel-base 16384 --channel-max 512 --z-dim 512 --w-dim 512 --mapping-layers 8 "
                "--augment ada --pl-weight 2"],
    "sample": [f"gandistill teacher sample --model {TEACHER}/model --out runs/teacher256-samples --seeds 0-63 "
               "--psi 0.7 --device cuda"],
    "evaluate": [f"gandistill evaluate {TEACHER}/model --num 50000 --reference data/toyfaces256/photo "
                 f"--metrics fid,kid --device cuda --out {TEACHER}/metrics.json"],
    "triplets": [f"gandistill triplets --teacher {TEACHER}/model --out runs/triplets --n 64 --preview-k 7,9,11 "
                 "--device cuda"],
    "KDIT distillation": [f"gandistill kdit distill --teacher {TEACHER}/model --student i2i --out runs/kdit-i2i "
                          "--steps 50000 --batch 32 --device cuda"],
    "KDIT fine-tuning": ["gandistill kdit finetune --modality image --student runs/kdit-i2i/model "
                         "--data data/pairs256 --n-pairs 200 --out runs/kdit-ft --steps 5000 --batch 16 "
                         "--device cuda"],
    "KDIT translate": ["gandistill translate --model runs/kdit-ft/model --input data/pairs256/sketch "
                       "--reference data/pairs256/photo/000000.png --output runs/kdit-translated --device cuda"],
    "GPD adaptation": [f"gandistill gpd adapt --teacher {TEACHER}/model --target my_shots --out runs/gpd-adapt "
                       "--steps 1000 --device cuda"],
    "GPD anchors": ["gandistill gpd anchors --adapted runs/gpd-adapt/model --data my_shots --steps 500 "
                    "--out runs/gpd-adapt/anchors.safetensors --device cuda"],
    "GPD distillation": ["gandistill gpd distill --adapted runs/gpd-adapt/model "
                         "--anchors runs/gpd-adapt/anchors.safetensors --kd anchor --out runs/gpd-student "
                         "--steps 20000 --device cuda"],
    "GPD translate": ["gandistill translate --model runs/gpd-student/model --input my_photos "
                      "--output runs/gpd-translated --device cuda",
                      "gandistill gpd export --model runs/gpd-student/model --export torchscript"],
}

# what the recipe reads that no line of it writes: the files you bring
USER_INPUTS: dict[str, str] = {
    "my_shots": "your ≤10 examples of the target style as pairs: my_shots/A/NAME.png (photo) and "
                "my_shots/B/NAME.png (the same face in the style), matching file names",
    "my_photos": "the photos to translate into the style (a folder)",
}


def full_size(stage: str) -> str:
    """The recipe lines of ``stage``, one per line."""
    return "\n".join(FULL_SIZE[stage])
