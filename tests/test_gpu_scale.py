"""benchmarks/gpu_scale.py runs every stage on CPU with --smoke and reports every field."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def _load():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_scale.py"
    spec = importlib.util.spec_from_file_location("gpu_scale", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_scale"] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


def test_smoke_run_measures_every_stage(tmp_path, capsys):
    mod = _load()
    out = tmp_path / "scale.json"
    report = mod.main(["--smoke", "--device", "cpu", "--out", str(out)])
    assert json.loads(out.read_text()) == report
    assert json.loads(capsys.readouterr().out) == report
    rows = report["results"]
    assert [r for r in rows if "error" in r] == []
    for r in rows:
        assert set(mod.FIELDS) <= set(r), r
        assert r["images_per_sec"] > 0 and r["seconds"] >= 0 and r["peak_gpu_mem_gib"] is None  # CPU: no GPU
    stages = [r["stage"] for r in rows]
    assert stages[:5] == ["teacher_train", "kdit_distill", "gpd_adapt", "projection", "gpd_distill"]
    inference = [(r["what"], r["resolution"]) for r in rows if r["stage"] == "student_inference"]
    small, large = 16, 32  # the smoke stand-ins for 256 and 1024 px
    assert sorted(inference) == sorted((w, res) for w in ("KDIT I2I student", "GPD U-Net translator")
                                       for res in (small, large))
    assert report["smoke"] and report["device"] == "cpu" and report["peak_rss_mb"] > 0
