"""benchmarks/inference_layouts.py times every inference entry point in both layouts (tiny 16 px models)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from gandistill.gpd import TranslatorConfig
from gandistill.teacher.presets import preset_model


def _benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "inference_layouts.py"
    spec = importlib.util.spec_from_file_location("inference_layouts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_path_timed_in_both_layouts():
    bench = _benchmark()
    torch.set_num_threads(1)
    report = bench.measure(preset_model("tiny"), TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2),
                           batch=2, proj_steps=2, blocks=2, block_s=0.01)
    assert set(report) == set(bench.PATHS) == {"teacher_sample", "triplets", "kdit_i2i", "kdit_x2i", "gpd_unet",
                                               "projection", "evaluate"}
    for path, r in report.items():
        assert r["nchw_img_s"] > 0 and r["cl_img_s"] > 0, path
        assert abs(r["ratio"] - r["cl_img_s"] / r["nchw_img_s"]) < 0.01, path
