"""Channels-last against NCHW on every inference entry point, side by side in one process.

    OMP_NUM_THREADS=1 python benchmarks/inference_layouts.py [--quick] [--out docs/inference_layouts.json]

Issue 14 asks every inference path to run ≥ 1.2× faster than its NCHW self. Each path is an entry point
as users call it, on in-memory inputs (file I/O does not depend on the layout):

- ``teacher_sample``: ``teacher.sample.sample_seeds`` (what ``teacher sample`` and ``api.sample`` run);
- ``triplets``: ``kdit.TripletSampler`` batches (x1, x2, y; one triplet counted as one image);
- ``kdit_i2i`` / ``kdit_x2i``: ``api.KDITStudent.translate`` of an I2I student (with a reference) and of
  an image-conditioned X2I student;
- ``gpd_unet``: ``api.GPDStudent`` on a U-Net (default TranslatorConfig widths);
- ``projection``: ``gpd.teacher_route`` with a few steps of W+ optimisation through G_T and the D_T
  feature loss (autograd), then the render (images per route call);
- ``evaluate``: the generation of ``metrics.sources.model_source`` (what ``evaluate`` samples a model with).

The networks are the ``toy64`` preset teacher with random weights (speed does not depend on training)
and students built from it as the tests build them. The layout is switched with
``gandistill.utils.inference.use_channels_last`` around model preparation and every call (the same as
``GANDISTILL_CHANNELS_LAST=0`` per process). One thread, timed by process CPU time (the machine is
shared); after a warm-up, NCHW and channels-last alternate in blocks and the medians are reported.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gandistill import api  # noqa: E402
from gandistill.gpd import ProjectConfig, TranslatorConfig, UNetTranslator, teacher_route  # noqa: E402
from gandistill.kdit import I2IStudent, TripletSampler, X2IStudent  # noqa: E402
from gandistill.metrics.sources import model_source  # noqa: E402
from gandistill.teacher import StyleGAN2Config, Teacher  # noqa: E402
from gandistill.teacher.presets import preset_model  # noqa: E402
from gandistill.teacher.sample import sample_seeds  # noqa: E402
from gandistill.utils.inference import use_channels_last  # noqa: E402
from teacher_speed import emit  # noqa: E402  (the one JSON report writer of the benchmarks)

PATHS = ("teacher_sample", "triplets", "kdit_i2i", "kdit_x2i", "gpd_unet", "projection", "evaluate")
Run = Callable[[], int]  # one call of an entry point; returns how many images it made


def _builders(teacher_cfg: StyleGAN2Config, unet_cfg: TranslatorConfig, batch: int, proj_steps: int,
              workdir: Path) -> dict[str, Callable[[], Run]]:
    """Per path, a builder that prepares fresh copies of the networks under the current layout setting
    (preparation converts in place, so each layout gets its own copy) and returns one call of the path."""
    torch.manual_seed(0)
    t = Teacher(teacher_cfg).eval().requires_grad_(False)
    t.save_pretrained(workdir / "teacher")
    i2i, x2i = I2IStudent.from_teacher(t), X2IStudent.from_teacher(t)
    unet = UNetTranslator(unet_cfg)
    res = teacher_cfg.resolution
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(batch, 3, res, res, generator=gen) * 2 - 1
    ref = torch.rand(batch, 3, res, res, generator=gen) * 2 - 1
    x_unet = torch.rand(batch, unet_cfg.in_channels, unet_cfg.resolution, unet_cfg.resolution, generator=gen) * 2 - 1
    seeds = list(range(batch))

    def teacher_sample() -> Run:
        G = copy.deepcopy(t.G)
        return lambda: len(sample_seeds(G, seeds, psi=0.7, batch=batch))

    def triplets() -> Run:
        sampler = TripletSampler(copy.deepcopy(t.G), batch=batch, seed=0)
        return lambda: len(next(sampler).y)

    def kdit_i2i() -> Run:
        student = api.KDITStudent(copy.deepcopy(i2i))
        return lambda: len(student.translate(x, reference=ref, batch=batch))

    def kdit_x2i() -> Run:
        student = api.KDITStudent(copy.deepcopy(x2i))
        return lambda: len(student.translate(x, batch=batch))

    def gpd_unet() -> Run:
        student = api.GPDStudent(copy.deepcopy(unet))
        return lambda: len(student(x_unet, batch=batch))

    def projection() -> Run:
        G_T, G_target, D_T = copy.deepcopy(t.G), copy.deepcopy(t.G), copy.deepcopy(t.D)
        cfg = ProjectConfig(steps=proj_steps, loss="dfeat", batch=batch)

        def run() -> int:
            with warnings.catch_warnings():  # random weights project poorly; the warning says so every call
                warnings.simplefilter("ignore")
                return len(teacher_route(G_T, G_target, x, cfg, D_T=D_T)[0])
        return run

    def evaluate() -> Run:
        stream = model_source(workdir / "teacher", 10 ** 9, seed=0).batches(batch)
        return lambda: len(next(stream))

    return {f.__name__: f for f in (teacher_sample, triplets, kdit_i2i, kdit_x2i, gpd_unet, projection, evaluate)}


def _time_layouts(build: Callable[[], Run], blocks: int, block_s: float) -> dict[str, float]:
    """Median images/s of NCHW and channels-last: warm-up, then ``blocks`` alternating blocks of each."""
    clock = time.process_time
    runs, first = {}, {}
    for cl in (False, True):
        with use_channels_last(cl):
            runs[cl] = build()
            runs[cl]()  # warm-up (allocator, oneDNN primitive caches)
            t0 = clock()
            runs[cl]()
            first[cl] = clock() - t0
    reps = max(1, round(block_s / max(first[False], first[True], 1e-6)))
    rates: dict[bool, list[float]] = {False: [], True: []}
    for b in range(blocks):
        for cl in ((False, True) if b % 2 == 0 else (True, False)):
            with use_channels_last(cl):
                t0 = clock()
                n = sum(runs[cl]() for _ in range(reps))
                rates[cl].append(n / max(clock() - t0, 1e-9))
    nchw, cl = statistics.median(rates[False]), statistics.median(rates[True])
    return {"nchw_img_s": round(nchw, 2), "cl_img_s": round(cl, 2), "ratio": round(cl / nchw, 3)}


def measure(teacher_cfg: StyleGAN2Config | None = None, unet_cfg: TranslatorConfig | None = None,
            batch: int = 8, proj_steps: int = 3, blocks: int = 5, block_s: float = 2.0,
            paths: tuple[str, ...] = PATHS) -> dict[str, dict[str, float]]:
    """{path: {nchw_img_s, cl_img_s, ratio}} for the given paths (default: toy64 teacher, 64 px U-Net)."""
    teacher_cfg = teacher_cfg or preset_model("toy64")
    unet_cfg = unet_cfg or TranslatorConfig(resolution=teacher_cfg.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        builders = _builders(teacher_cfg, unet_cfg, batch, proj_steps, Path(tmp))
        return {p: _time_layouts(builders[p], blocks, block_s) for p in paths}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a ~1 minute smoke run (3 short blocks per layout)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=None, help="alternating blocks per layout (default 5; quick 3)")
    ap.add_argument("--block-s", type=float, default=None, help="CPU seconds per block (default 2; quick 0.4)")
    ap.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset of " + ", ".join(PATHS))
    ap.add_argument("--out", default=None, help="also write the JSON here (e.g. docs/inference_layouts.json)")
    args = ap.parse_args()
    paths = tuple(p for p in args.paths.split(",") if p)
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        ap.error(f"--paths: unknown {', '.join(unknown)}; choose from {', '.join(PATHS)}")
    if args.batch < 1 or (args.blocks is not None and args.blocks < 1) or (args.block_s is not None and args.block_s <= 0):
        ap.error("--batch and --blocks must be ≥ 1 and --block-s > 0")
    torch.set_num_threads(1)
    report = measure(batch=args.batch, blocks=args.blocks or (3 if args.quick else 5),
                     block_s=args.block_s or (0.4 if args.quick else 2.0), paths=paths)
    emit(report, args.out)


if __name__ == "__main__":
    main()
