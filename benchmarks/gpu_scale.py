"""Throughput and peak memory of every stage at GPU scale, in one command (< 8 minutes on one GPU).

    python benchmarks/gpu_scale.py [--device cuda] [--out gpu_scale.json]
    python benchmarks/gpu_scale.py --smoke --device cpu      # tiny sizes, a few steps (what the test runs)

Stages, through the public stage functions and networks, each on synthetic toyfaces data:
  teacher_train     ``train_teacher`` with the ffhq256 preset's networks (StyleGAN2 config-f at 256 px)
  kdit_distill      ``kdit.distill`` of an I2I student from that teacher
  gpd_adapt         ``gpd.adapt`` of the teacher to a few target images
  projection        ``gpd.compute_anchors``: projection of real pairs into the adapted generator
  gpd_distill       ``gpd.distill`` of a translator from the adapted generator and the anchors
  student_inference KDIT I2I students and GPD U-Net translators at 256 and 1024 px (inference path)
Training stages report images/s from the engine's per-step times (warm-up steps dropped); every stage
reports its peak GPU memory (``null`` off CUDA) and wall seconds. The JSON goes to stdout (and ``--out``).
With ``--smoke`` the same stages run on a 16 px teacher (32 px for the "1024 px" students).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

FIELDS = ("stage", "what", "resolution", "batch", "steps", "images_per_sec", "peak_gpu_mem_gib", "seconds")


@dataclasses.dataclass
class Sizes:
    """What one run measures: the full GPU sizes, or the smoke sizes (tiny, a few steps)."""

    teacher_preset: str
    large_preset: str  # the teacher shape behind the "1024 px" students
    teacher_batch: int
    kdit_batch: int
    adapt_batch: int
    distill_batch: int
    gen_batch: int
    project_batch: int
    project_steps: int
    steps: int  # optimisation steps per training stage, warm-up included
    warmup: int
    pairs: int
    infer_batch: int
    infer_batch_large: int
    infer_reps: int
    translator: dict


FULL = Sizes(teacher_preset="ffhq256", large_preset="ffhq1024", teacher_batch=32, kdit_batch=16, adapt_batch=8,
             distill_batch=8, gen_batch=16, project_batch=16, project_steps=100, steps=40, warmup=5, pairs=16,
             infer_batch=32, infer_batch_large=8, infer_reps=10, translator={})
SMOKE = Sizes(teacher_preset="tiny", large_preset="tiny32", teacher_batch=4, kdit_batch=2, adapt_batch=2,
              distill_batch=2, gen_batch=2, project_batch=2, project_steps=2, steps=3, warmup=1, pairs=2,
              infer_batch=2, infer_batch_large=1, infer_reps=2,
              translator=dict(channels=4, max_channels=8, depth=2, d_channels=4, d_layers=2))


def _model(preset: str):
    from gandistill.teacher.presets import PRESETS, preset_model

    if preset == "tiny32":  # the smoke stand-in for the 1024 px shape: the tiny teacher at twice its size
        return dataclasses.replace(preset_model("tiny"), resolution=2 * PRESETS["tiny"].model["resolution"])
    return preset_model(preset)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _measure(device: torch.device, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` (which returns the row's own fields) with peak memory and wall time around it."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    t = time.perf_counter()
    try:
        row = fn()
    except Exception as exc:  # one failing stage must not cost the others their (GPU) measurement
        row = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    _sync(device)
    row["seconds"] = round(time.perf_counter() - t, 2)
    row["peak_gpu_mem_gib"] = round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 3) \
        if device.type == "cuda" else None
    return row


def _train_rate(out: Path, batch: int, warmup: int) -> float:
    """Images/s from the engine's per-step times, warm-up steps dropped (median: robust to a stray snapshot)."""
    from gandistill.utils.logging import read_scalars

    times = sorted(r["time/sec_per_step"] for r in read_scalars(out)[warmup:] if "time/sec_per_step" in r)
    if not times:
        raise RuntimeError(f"{out}: the run logged no step times")
    return round(batch / times[len(times) // 2], 3)


def _write_pairs(root: Path, n: int, res: int) -> Path:
    from gandistill.data import toyfaces_arrays

    arrays = toyfaces_arrays(n, res, seed=7, domains=("photo", "sketch"))
    for side, domain in (("A", "photo"), ("B", "sketch")):
        (root / side).mkdir(parents=True, exist_ok=True)
        for i, a in enumerate(arrays[domain]):
            Image.fromarray(np.asarray(a)).save(root / side / f"{i:03d}.png")
    return root


def _common(device: torch.device, steps: int) -> dict[str, Any]:
    return dict(device=str(device), steps=steps, progress=False, log_every=1, grid_every=0, snap_every=10 ** 6)


def _inference_rate(net: torch.nn.Module, make_input: Callable[[], tuple], device: torch.device, reps: int) -> float:
    from gandistill.utils.inference import prepare_for_inference, to_channels_last

    net = prepare_for_inference(net, device)
    inputs = tuple(to_channels_last(x.to(device)) for x in make_input())
    with torch.inference_mode():
        net(*inputs)  # warm-up (cuDNN algorithm choice, allocator)
        _sync(device)
        t = time.perf_counter()
        for _ in range(reps):
            net(*inputs)
        _sync(device)
    return round(inputs[0].shape[0] * reps / (time.perf_counter() - t), 3)


def run(sizes: Sizes, device: torch.device, work: Path) -> list[dict[str, Any]]:
    from gandistill.gpd import AdaptConfig, AnchorsConfig, GPDDistillConfig, TranslatorConfig, UNetTranslator
    from gandistill.gpd import adapt, compute_anchors
    from gandistill.gpd import distill as gpd_distill
    from gandistill.kdit import I2IStudent
    from gandistill.kdit.distill import DistillConfig
    from gandistill.kdit.distill import distill as kdit_distill
    from gandistill.teacher import Teacher, train_config
    from gandistill.teacher.presets import apply_preset
    from gandistill.teacher.train import train_teacher

    model = _model(sizes.teacher_preset)
    res = model.resolution
    pairs = _write_pairs(work / "pairs", sizes.pairs, res)
    rows: list[dict[str, Any]] = []
    n_steps, warm = sizes.steps, sizes.warmup

    def add(stage: str, what: str, resolution: int, batch: int, steps: int, fn: Callable[[], dict]) -> None:
        row = {"stage": stage, "what": what, "resolution": resolution, "batch": batch, "steps": steps,
               "images_per_sec": None, **_measure(device, fn)}
        rows.append({k: row[k] for k in FIELDS} | ({"error": row["error"]} if "error" in row else {}))
        print(json.dumps(rows[-1]), file=sys.stderr)

    teacher_dir = work / "teacher" / "model"

    def teacher() -> dict:
        base = apply_preset(sizes.teacher_preset) if sizes.teacher_preset != "tiny" else \
            train_config.TeacherTrainConfig(model=model)
        cfg = dataclasses.replace(base, out=str(work / "teacher"), data=str(pairs / "A"), batch=sizes.teacher_batch,
                                  batch_gpu=None, xflip=False, **_common(device, n_steps))
        train_teacher(cfg)
        return {"images_per_sec": _train_rate(work / "teacher", sizes.teacher_batch, warm)}
    add("teacher_train", f"{sizes.teacher_preset} networks", res, sizes.teacher_batch, n_steps, teacher)
    if not teacher_dir.is_dir():  # the later stages need a teacher on disk: the untrained one will do
        Teacher(model).save_pretrained(teacher_dir)

    def kdit() -> dict:
        kdit_distill(DistillConfig(out=str(work / "kdit"), teacher=str(teacher_dir), student="i2i",
                                   batch=sizes.kdit_batch, **_common(device, n_steps)))
        return {"images_per_sec": _train_rate(work / "kdit", sizes.kdit_batch, warm)}
    add("kdit_distill", "I2I student, triplets/s", res, sizes.kdit_batch, n_steps, kdit)

    adapted = work / "adapt" / "model"

    def gpd_adapt() -> dict:
        adapt(AdaptConfig(out=str(work / "adapt"), teacher=str(teacher_dir), target=str(pairs / "B"),
                          batch=sizes.adapt_batch, max_targets=max(10, sizes.pairs), **_common(device, n_steps)))
        return {"images_per_sec": _train_rate(work / "adapt", sizes.adapt_batch, warm)}
    add("gpd_adapt", "generator adaptation", res, sizes.adapt_batch, n_steps, gpd_adapt)

    anchors: dict[str, Path] = {}

    def projection() -> dict:
        t = time.perf_counter()
        anchors["path"] = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(pairs), device=str(device),
                                                        steps=sizes.project_steps, batch=sizes.project_batch,
                                                        progress=False), progress=False)
        return {"images_per_sec": round(sizes.pairs / (time.perf_counter() - t), 3)}
    add("projection", f"gpd anchors, {sizes.project_steps} steps per image", res, sizes.project_batch,
        sizes.project_steps, projection)

    def distill() -> dict:
        gpd_distill(GPDDistillConfig(out=str(work / "gpd"), adapted=str(adapted), anchors=str(anchors["path"]),
                                     batch=sizes.distill_batch, gen_batch=sizes.gen_batch, **sizes.translator,
                                     **_common(device, n_steps)))
        items = sizes.distill_batch + sizes.gen_batch
        return {"images_per_sec": _train_rate(work / "gpd", items, warm)}
    add("gpd_distill", "translator, real + generated pairs/s", res, sizes.distill_batch + sizes.gen_batch,
        n_steps, distill)

    large = _model(sizes.large_preset)
    for r, batch, source in ((res, sizes.infer_batch, "teacher"), (large.resolution, sizes.infer_batch_large, None)):
        def kdit_student(r=r, batch=batch, source=source) -> dict:
            t = Teacher.from_pretrained(teacher_dir) if source else Teacher(large)
            student = I2IStudent.from_teacher(t)
            return {"images_per_sec": _inference_rate(student, lambda: (torch.rand(batch, 3, r, r) * 2 - 1,),
                                                      device, sizes.infer_reps)}
        add("student_inference", "KDIT I2I student", r, batch, sizes.infer_reps, kdit_student)

        def gpd_student(r=r, batch=batch) -> dict:
            shape = {k: v for k, v in sizes.translator.items() if k in ("channels", "max_channels", "depth")}
            net = UNetTranslator(TranslatorConfig(resolution=r, **shape))
            return {"images_per_sec": _inference_rate(net, lambda: (torch.rand(batch, 3, r, r) * 2 - 1,), device,
                                                      sizes.infer_reps)}
        add("student_inference", "GPD U-Net translator", r, batch, sizes.infer_reps, gpd_student)
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and a few steps (CPU check that it all runs)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    sizes = SMOKE if args.smoke else FULL
    t = time.perf_counter()
    # the stages' own messages go to stderr, so stdout is the JSON alone
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        rows = run(sizes, device, Path(tmp))
    report = {"benchmark": "gpu_scale", "smoke": args.smoke, "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
              "torch": torch.__version__, "seconds": round(time.perf_counter() - t, 1),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "fields": list(FIELDS), "results": rows}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
