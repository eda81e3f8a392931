"""GPD distill engine (every --kd mode, exact resume), translate, export and the teacher route."""
from __future__ import annotations

import json
import warnings

import pytest
import torch
from gpd_support import make_teacher, toy_pairs

from gandistill.errors import GandistillError, GandistillWarning
from gandistill.gpd import (AdaptConfig, Anchors, AnchorsConfig, GPDDistillConfig, ProjectConfig, UNetTranslator,
                            adapt, compute_anchors, distill, export_student, load_generators, load_translator,
                            teacher_route, translate_gpd)




@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpd")
    teacher = make_teacher(root / "teacher")
    pairs = toy_pairs(root / "pairs", n=3)
    adapted = adapt(AdaptConfig(out=str(root / "adapt"), teacher=str(teacher), target=str(pairs / "B"), steps=1,
                                batch=2, progress=False, device="cpu", grid_every=0))
    anchors = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(pairs), steps=3, device="cpu"),
                              progress=False)
    return root, teacher, pairs, adapted, anchors


def _cfg(out, setup, **kw):
    _, _, _, adapted, anchors = setup
    base = dict(out=str(out), adapted=str(adapted), anchors=str(anchors), steps=3, batch=2, gen_batch=2,
                channels=4, max_channels=8, depth=3, d_channels=4, d_layers=2, snap_every=2, grid_every=2,
                progress=False, device="cpu")
    base.update(kw)
    return GPDDistillConfig(**base)


@pytest.mark.parametrize("kd,arch", [("none", "unet"), ("direct", "resnet"), ("anchor", "unet")])
def test_distill_modes_log_their_terms(tmp_path, setup, kd, arch):
    model = distill(_cfg(tmp_path / kd, setup, kd=kd, arch=arch, depth=3 if arch == "unet" else 1))
    S = load_translator(model)
    meta = json.loads((model / "config.json").read_text())
    assert meta["extra"]["kd"] == kd and set(meta["parents"]) == {"teacher", "adapted"}
    rows = [json.loads(x) for x in (tmp_path / kd / "stats.jsonl").read_text().splitlines()]
    keys = set().union(*rows)
    assert ("loss/rel" in keys) == (kd == "anchor")
    assert ("loss/direct" in keys) == (kd != "none")
    assert (tmp_path / kd / "samples" / "student-00000002.png").is_file()
    assert S(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_relative_anchor_end_real_vs_twin_changes_only_that_term(tmp_path, setup):
    rows = {}
    for end in ("real", "twin"):
        distill(_cfg(tmp_path / end, setup, kd="anchor", rel_anchor=end, steps=1, log_every=1))
        rows[end] = json.loads((tmp_path / end / "stats.jsonl").read_text().splitlines()[0])
    # same seed, same batch: the real-pair terms agree, the anchor end of the relative term differs
    assert rows["real"]["loss/l1"] == rows["twin"]["loss/l1"]
    assert rows["real"]["loss/rel"] != rows["twin"]["loss/rel"]


def test_distill_resume_is_exact(tmp_path, setup):
    full = load_translator(distill(_cfg(tmp_path / "a", setup, steps=4)))
    distill(_cfg(tmp_path / "b", setup, steps=2))
    resumed = load_translator(distill(_cfg(tmp_path / "b", setup, steps=4, resume="latest")))
    for (k, v), (_, w) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(v, w), k


def test_distill_requires_inputs(tmp_path, setup):
    with pytest.raises(GandistillError, match="--anchors"):
        distill(_cfg(tmp_path, setup, anchors=""))


def test_translate_and_export(tmp_path, setup):
    root, _, pairs, _, _ = setup
    model = distill(_cfg(tmp_path / "s", setup, steps=1))
    written = translate_gpd(model, pairs / "A", tmp_path / "out", batch_size=2, progress=False, device="cpu")
    assert sorted(p.stem for p in written) == sorted(p.stem for p in (pairs / "A").iterdir())
    ts = export_student(model, "torchscript", tmp_path / "s.ts.pt")
    loaded = torch.jit.load(str(ts))
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(loaded(x), UNetTranslator.from_pretrained(model).eval()(x), atol=1e-5)
    with pytest.raises(GandistillError, match="torchscript or onnx"):
        export_student(model, "tflite")


def test_teacher_route_renders_projection_with_target(setup):
    _, _, _, adapted, _ = setup
    src, tgt = load_generators(adapted)
    out, q = teacher_route(src.G, tgt.G, torch.zeros(2, 3, 16, 16), ProjectConfig(steps=2), D_T=src.D)
    assert out.shape == (2, 3, 16, 16) and "mean_l1" in q


def test_cli_translate_dispatches_to_gpd_student(tmp_path, setup):
    from gandistill.cli.main import main

    _, teacher, pairs, adapted, anchors = setup
    model = distill(_cfg(tmp_path / "s", setup, steps=1))
    assert main(["translate", "--model", str(model), "--input", str(pairs / "A"), "--output", str(tmp_path / "o"),
                 "--device", "cpu", "--no-progress"]) == 0
    assert len(list((tmp_path / "o").glob("*.png"))) == 3
    assert main(["gpd", "adapt", "--dry-run", "--teacher", str(teacher), "--target", str(pairs / "B"),
                 "--out", str(tmp_path / "a")]) == 0
    assert main(["gpd", "distill", "--adapted", str(adapted), "--anchors", str(tmp_path / "missing.safetensors"),
                 "--out", str(tmp_path / "d")]) == 2  # clear error, no traceback


def test_target_only_pipeline_end_to_end(tmp_path, setup):
    """Style images only (no photos): adapt on them, anchors projected into G_target, student trained on
    generated pairs with anchor-based trust, photos translated; --kd none is refused with one clear line."""
    from gandistill.cli.main import main
    from gandistill.gpd import Anchors

    _, teacher, pairs, _, _ = setup
    styles = pairs / "B"
    adapted = adapt(AdaptConfig(out=str(tmp_path / "adapt"), teacher=str(teacher), target=str(styles), steps=2,
                                batch=2, progress=False, device="cpu", grid_every=0))
    anchors = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(styles), steps=3, device="cpu",
                                            out=str(tmp_path / "anchors.safetensors")), progress=False)
    assert Anchors.load(anchors).mode == "target"
    cfg = _cfg(tmp_path / "student", setup, anchors=str(anchors), kd="anchor", steps=2)
    cfg.adapted = str(adapted)
    model = distill(cfg)
    rows = [json.loads(x) for x in (tmp_path / "student" / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["loss/rel"] >= 0 and 0 < rows[-1]["kd/omega_mean"] <= 1
    written = translate_gpd(model, pairs / "A", tmp_path / "out", progress=False, device="cpu")
    assert len(written) == 3
    with pytest.raises(GandistillError, match="--kd none"):
        distill(GPDDistillConfig(**{**cfg.__dict__, "kd": "none", "out": str(tmp_path / "none")}))
    assert main(["gpd", "distill", "--adapted", str(adapted), "--anchors", str(anchors), "--kd", "none",
                 "--out", str(tmp_path / "none2"), "--device", "cpu"]) == 2


def test_distill_refuses_a_kd_mode_whose_weights_are_all_zero(tmp_path, setup):
    with pytest.raises(GandistillError, match="--w-l1, --w-perc, --w-adv"):
        distill(_cfg(tmp_path / "z", setup, kd="none", w_l1=0.0, w_perc=0.0, w_adv=0.0))
    assert not (tmp_path / "z").exists()  # refused before any file is written


def test_batch_gpu_accumulates_to_the_same_step(tmp_path, setup):
    """--batch-gpu splits each step into rounds whose gradients add up to the whole batch's (instance norm:
    every sample is independent), so the student matches the one-round run up to rounding."""
    whole = load_translator(distill(_cfg(tmp_path / "one", setup, kd="none", batch=4, steps=2))).eval()
    rounds = load_translator(distill(_cfg(tmp_path / "two", setup, kd="none", batch=4, batch_gpu=2, steps=2))).eval()
    half = load_translator(distill(_cfg(tmp_path / "half", setup, kd="none", batch=2, steps=2))).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1  # outputs, not weights: Adam turns the rounding noise of a bias
    with torch.no_grad():                  # before instance norm (gradient ≈ 0) into full-size steps
        assert torch.allclose(whole(x), rounds(x), atol=1e-4)
        assert not torch.allclose(whole(x), half(x), atol=1e-4)  # a smaller batch does differ
    with pytest.raises(GandistillError, match="--gen-batch 3 must be a multiple"):
        distill(_cfg(tmp_path / "bad", setup, kd="direct", batch=4, batch_gpu=2, gen_batch=3))


def _anchor_warnings(run) -> list[str]:
    """The GandistillWarning messages that ``run()`` emits (every one, however often repeated)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in rec if issubclass(w.category, GandistillWarning)]


def test_anchors_of_another_adapted_model_warn_once_naming_both(tmp_path, setup):
    """Anchors record the adapted weights' hash: with the model they came from `gpd distill` says nothing; with
    other adapted weights (a re-run or resumed `gpd adapt`) one warning names both paths and the fix."""
    from gandistill.cli.main import main
    from gandistill.teacher import Teacher

    _, teacher, _, adapted, anchors = setup
    assert _anchor_warnings(lambda: distill(_cfg(tmp_path / "same", setup), dry_run=True)) == []
    other = Teacher.from_pretrained(adapted)
    with torch.no_grad():
        next(other.G.parameters()).add_(0.01)  # as after more adaptation steps
    other_dir = tmp_path / "adapt2" / "model"
    other.save_pretrained(other_dir, parents=other.parents)
    cfg = _cfg(tmp_path / "other", setup, adapted=str(other_dir), teacher=str(teacher))
    shown = _anchor_warnings(lambda: distill(cfg, dry_run=True))
    assert len(shown) == 1, shown
    assert str(anchors) in shown[0] and str(other_dir) in shown[0]
    assert f"gandistill gpd anchors --adapted {other_dir}" in shown[0] and "\n" not in shown[0]
    # gpd pairs reads --anchors with --adapted too: the same check
    shown = _anchor_warnings(lambda: main(["gpd", "pairs", "--adapted", str(other_dir), "--teacher", str(teacher),
                                           "--anchors", str(anchors), "--n", "2", "--out", str(tmp_path / "pairs"),
                                           "--device", "cpu"]))
    assert len(shown) == 1 and str(other_dir) in shown[0], shown


def test_anchors_without_a_recorded_hash_are_not_checked(tmp_path, setup):
    """Older anchors files record no adapted hash: nothing to compare, so no warning (and they still load)."""
    from safetensors.torch import save_file

    _, _, _, _, anchors = setup
    a = Anchors.load(anchors)
    assert a.made_from.get("adapted")  # the current files do record it
    old = tmp_path / "old-anchors.safetensors"
    save_file({"ws": a.ws, "x": a.x, "y": a.y}, str(old), metadata={"mode": a.mode, "names": json.dumps(a.names)})
    assert Anchors.load(old).made_from == {}
    assert _anchor_warnings(lambda: distill(_cfg(tmp_path / "s", setup, anchors=str(old)), dry_run=True)) == []
