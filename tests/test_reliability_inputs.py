"""Issue 13, "nothing lost, nothing cryptic": bad inputs to translate / evaluate / kdit / gpd get one clear line
naming the file or option and the fix, and no output ever overwrites an input or another output."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from kdit_support import tiny_teacher
from PIL import Image

from gandistill import api
from gandistill.cli.main import main
from gandistill.data import toyfaces_arrays
from gandistill.errors import CheckpointError, DataError, GandistillError, GandistillWarning
from gandistill.gpd import TranslatorConfig, UNetTranslator
from gandistill.kdit import I2IStudent

torch.set_num_threads(1)


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _photos(n, res, seed=1):
    return toyfaces_arrays(n, res, seed=seed, domains=("photo",))["photo"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    t = tiny_teacher()
    t.save_pretrained(root / "teacher")
    torch.manual_seed(0)
    I2IStudent.from_teacher(t).save_pretrained(root / "i2i")
    I2IStudent.from_teacher(t).save_pretrained(root / "scratch", extra={"from_scratch": True, "stage": "finetune"})
    UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)).save_pretrained(root / "gpd")
    return root


def _cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def _cli_warnings(capsys, *args):
    """(exit code, stdout, stderr, warning lines as the CLI prints them); every warning call is recorded."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rc, out, err = _cli(capsys, *args)
    lines = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in rec
             if issubclass(w.category, GandistillWarning)]
    assert all(ln.count("\n") == 1 for ln in lines), lines                 # one line each
    return rc, out, err, [ln.rstrip("\n") for ln in lines]


def _error_line(err):
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------------------------- translate: nothing lost

def test_same_stem_in_different_folders_keeps_every_output(models, tmp_path, capsys):
    a, b, c = _photos(3, 16)
    inputs = [_save(tmp_path / "in" / "a" / "x.png", a), _save(tmp_path / "in" / "b" / "x.png", b)]
    Image.fromarray(c).save(tmp_path / "in" / "x.jpg", quality=95)
    inputs.append(tmp_path / "in" / "x.jpg")
    rc, out, _ = _cli(capsys, "translate", "--model", models / "gpd", "--input", *inputs, "--output",
                      tmp_path / "out", "--no-progress", "--device", "cpu")
    assert rc == 0 and "wrote 3 images" in out
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["a/x.png", "b/x.png", "x.png"]
    outs = [np.array(Image.open(tmp_path / "out" / w)) for w in written]
    assert not np.array_equal(outs[0], outs[1])            # three different images, none lost


def test_a_folder_input_is_mirrored_and_two_stems_colliding_are_refused(models, tmp_path, capsys):
    a, b = _photos(2, 16)
    _save(tmp_path / "in" / "0.png", a)
    _save(tmp_path / "in" / "sub" / "0.png", b)
    rc, _, _ = _cli(capsys, "translate", "--model", models / "gpd", "--input", tmp_path / "in", "--output",
                    tmp_path / "out", "--no-progress", "--device", "cpu")
    assert rc == 0 and (tmp_path / "out" / "0.png").is_file() and (tmp_path / "out" / "sub" / "0.png").is_file()
    Image.fromarray(b).save(tmp_path / "in" / "0.jpg")
    rc, _, err = _cli(capsys, "translate", "--model", models / "gpd", "--input", tmp_path / "in", "--output",
                      tmp_path / "out2", "--no-progress", "--device", "cpu")
    line = _error_line(err)
    assert rc == 2 and "in/0.jpg and" in line and "in/0.png →" in line and "rename one" in line
    assert not (tmp_path / "out2").exists()                 # refused before writing anything


@pytest.mark.parametrize("where", ["same", "inside"])
def test_output_equal_to_or_inside_the_input_is_refused(models, tmp_path, capsys, where):
    folder = tmp_path / "photos"
    for i, a in enumerate(_photos(2, 16)):
        _save(folder / f"{i}.png", a)
    before = {p: p.read_bytes() for p in folder.rglob("*")}
    output = folder if where == "same" else folder / "translated"
    rc, _, err = _cli(capsys, "translate", "--model", models / "gpd", "--input", folder, "--output", output,
                      "--no-progress", "--device", "cpu")
    line = _error_line(err)
    assert rc == 2 and "--output" in line and str(folder) in line and "outside" in line
    assert {p: p.read_bytes() for p in folder.rglob("*")} == before


def test_output_beside_a_file_input_cannot_overwrite_it(models, tmp_path, capsys):
    photo = _save(tmp_path / "x.png", _photos(1, 16)[0])
    before = photo.read_bytes()
    rc, _, err = _cli(capsys, "translate", "--model", models / "gpd", "--input", photo, "--output", tmp_path,
                      "--no-progress", "--device", "cpu")
    assert rc == 2 and "would overwrite the input" in _error_line(err) and photo.read_bytes() == before


# ---------------------------------------------------------------------------------------------- translate: sizes

def test_size_option_and_paired_evaluate_on_own_images(models, tmp_path, capsys):
    photos = _photos(3, 32)
    for i, a in enumerate(photos):
        _save(tmp_path / "A" / f"{i}.png", a)
        _save(tmp_path / "B" / f"{i}.png", a)                # ground truth at the input's size
    run = ["translate", "--model", models / "gpd", "--input", tmp_path / "A", "--no-progress", "--device", "cpu"]
    for size, side in ((None, 16), ("24", 24), ("input", 32)):
        out = tmp_path / f"out-{size}"
        assert _cli(capsys, *run, "--output", out, *(["--size", size] if size else []))[0] == 0
        assert {Image.open(p).size for p in out.glob("*.png")} == {(side, side)}
    rc, _, err = _cli(capsys, *run, "--output", tmp_path / "o", "--size", "big")
    assert rc == 2 and "--size must be a positive number of pixels or 'input'" in _error_line(err)
    # quickstart §6: paired metrics on one's own images, either at the input size or with --resize
    ev = ["evaluate", "--reference", tmp_path / "B", "--paired", "--metrics", "l1,psnr", "--quiet"]
    assert _cli(capsys, *ev[:1], tmp_path / "out-input", *ev[1:], "--out", tmp_path / "m1.json")[0] == 0
    rc, _, err = _cli(capsys, *ev[:1], tmp_path / "out-None", *ev[1:], "--out", tmp_path / "m2.json")
    assert rc == 2 and "--resize N" in _error_line(err)
    assert _cli(capsys, *ev[:1], tmp_path / "out-None", *ev[1:], "--resize", "16", "--out", tmp_path / "m3.json")[0] == 0
    m3 = json.loads((tmp_path / "m3.json").read_text())
    assert m3["counts"]["pairs"] == 3 and "16x16" in m3["protocol"]["paired"]["images"]


def test_api_files_and_arrays_behave_the_same(models, tmp_path):
    photos = _photos(2, 32)
    for i, a in enumerate(photos):
        _save(tmp_path / f"{i}.png", a)
    for student in (api.GPDStudent.from_pretrained(models / "gpd"), api.KDITStudent.from_pretrained(models / "i2i")):
        run = student if isinstance(student, api.GPDStudent) else student.translate
        assert torch.equal(run(photos), run(tmp_path))                         # arrays resized like files
        assert torch.equal(run(photos, size="input"), run(tmp_path, size="input"))
        assert run(photos, size="input").shape[-1] == 32 and run(photos, size=20).shape[-1] == 20


# ---------------------------------------------------------------------------------------------- translate: references

def test_reference_folder_matched_by_name(models, tmp_path, capsys):
    sketches, refs = _photos(2, 16, seed=3), _photos(2, 16, seed=4)
    for i in range(2):
        _save(tmp_path / "in" / f"{i}.png", sketches[i])
        _save(tmp_path / "refs" / f"{i}.jpg" if i else tmp_path / "refs" / f"{i}.png", refs[i])
    base = ["translate", "--model", models / "i2i", "--input", tmp_path / "in", "--no-progress", "--device", "cpu"]
    assert _cli(capsys, *base, "--reference", tmp_path / "refs", "--output", tmp_path / "per")[0] == 0
    for i, ref in enumerate(sorted((tmp_path / "refs").iterdir())):
        one = ["translate", "--model", models / "i2i", "--input", tmp_path / "in" / f"{i}.png", "--no-progress",
               "--device", "cpu", "--reference", ref, "--output", tmp_path / f"one{i}"]
        assert _cli(capsys, *one)[0] == 0
        assert np.array_equal(np.array(Image.open(tmp_path / "per" / f"{i}.png")),
                              np.array(Image.open(tmp_path / f"one{i}" / f"{i}.png")))
    # the API takes the same folder
    s = api.KDITStudent.from_pretrained(models / "i2i")
    assert torch.equal(s.translate(tmp_path / "in", reference=tmp_path / "refs")[1],
                       torch.from_numpy(np.array(Image.open(tmp_path / "per" / "1.png"))).permute(2, 0, 1))
    (tmp_path / "refs" / "1.jpg").unlink()
    rc, _, err = _cli(capsys, *base, "--reference", tmp_path / "refs", "--output", tmp_path / "miss")
    line = _error_line(err)
    assert rc == 2 and "has no image for 1 input(s): 1.png" in line and "--reference" in line


def test_from_scratch_student_without_reference_warns_once(models, tmp_path, capsys):
    for i, a in enumerate(_photos(3, 16)):
        _save(tmp_path / "in" / f"{i}.png", a)
    base = ["translate", "--input", tmp_path / "in", "--no-progress", "--device", "cpu"]
    rc, _, _, warn = _cli_warnings(capsys, *base, "--model", models / "scratch", "--output", tmp_path / "a")
    assert rc == 0 and len(warn) == 1 and warn[0].startswith("warning:") and "untrained mapping" in warn[0]
    assert "--reference" in warn[0]
    rc, _, _, warn = _cli_warnings(capsys, *base, "--model", models / "scratch", "--output", tmp_path / "b",
                                   "--reference", tmp_path / "in" / "0.png")
    assert rc == 0 and warn == []
    rc, _, _, warn = _cli_warnings(capsys, *base, "--model", models / "i2i", "--output", tmp_path / "c")
    assert rc == 0 and warn == []                                            # a distilled student is fine


def test_progress_counts_images_and_resizing_is_one_line(models, tmp_path, capsys):
    for i, a in enumerate(_photos(3, 32)):
        _save(tmp_path / "in" / f"{i}.png", a)
    rc, _, err, warn = _cli_warnings(capsys, "translate", "--model", models / "gpd", "--input", tmp_path / "in",
                                     "--output", tmp_path / "out", "--device", "cpu")
    assert rc == 0 and ("img/s" in err or "s/img" in err) and "step" not in err
    assert warn == ["warning: 3 of 3 input images are not 16×16 like the model; centre-cropped and resized: "
                       "0.png (32×32), 1.png (32×32), 2.png (32×32)"]


def test_gpd_adapt_and_anchors_warn_with_the_same_wording(tmp_path):
    from gandistill.gpd import load_targets

    for i, a in enumerate(_photos(2, 32)):
        _save(tmp_path / "t" / f"{i}.png", a)
    texts = []
    for kwargs in ({}, {"max_targets": None, "what": "anchor data folder", "option": "--data"}):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            load_targets(tmp_path / "t", 16, 3, **kwargs)
        texts += [str(w.message) for w in rec if issubclass(w.category, GandistillWarning)]
    assert texts == [f"2 of 2 {what} are not 16×16 like the model; centre-cropped and resized: 0.png (32×32), "
                     "1.png (32×32)" for what in ("target images", "anchor images")]


# ---------------------------------------------------------------------------------------------- one shape check

@pytest.mark.parametrize("size", [(1, 1), (1000, 1), (64, 8)])
def test_tiny_and_sliver_images_are_refused_everywhere(models, tmp_path, capsys, size):
    from gandistill.data import ImageFolderDataset
    from gandistill.gpd import load_targets
    from gandistill.metrics import evaluate
    from gandistill.serve.validate import UploadLimits

    good = _photos(2, 32)
    for i, a in enumerate(good):
        _save(tmp_path / "d" / f"{i}.png", a)
    bad = tmp_path / "d" / "bad.png"
    Image.new("RGB", size, (200, 10, 10)).save(bad)
    w, h = size
    for load in (lambda: ImageFolderDataset(tmp_path / "d", 16).as_uint8_array(),      # teacher train
                 lambda: ImageFolderDataset(tmp_path / "d", 16, validate=True),
                 lambda: load_targets(tmp_path / "d", 16, 3),                           # gpd adapt
                 lambda: evaluate(tmp_path / "d", tmp_path / "d", metrics=("l1",), paired=True, progress=False)):
        with pytest.raises(DataError, match=rf"bad.png is {w}x{h} pixels"):
            load()
    rc, _, err = _cli(capsys, "translate", "--model", models / "gpd", "--input", bad, "--output", tmp_path / "o",
                      "--no-progress", "--device", "cpu")
    assert rc == 2 and "bad.png" in _error_line(err) and not (tmp_path / "o" / "bad.png").exists()
    limits = UploadLimits()                                                             # serve: the same limits
    from gandistill.data.images import MAX_ASPECT, MIN_SIDE

    assert (limits.min_side, limits.max_aspect) == (MIN_SIDE, MAX_ASPECT)


# ---------------------------------------------------------------------------------------------- evaluate

def test_evaluate_explains_model_dirs_and_paired_metrics(models, tmp_path, capsys):
    import shutil

    weightless = tmp_path / "weightless"
    shutil.copytree(models / "teacher", weightless)
    (weightless / "model.safetensors").unlink()
    for i, a in enumerate(_photos(2, 16)):
        _save(tmp_path / "ref" / f"{i}.png", a)
    rc, _, err = _cli(capsys, "evaluate", weightless, "--reference", tmp_path / "ref", "--quiet", "--out",
                      tmp_path / "m.json")
    line = _error_line(err)
    assert rc == 2 and "model directory" in line and "model.safetensors" in line and "no images" not in line
    run = tmp_path / "run"
    shutil.copytree(models / "teacher", run / "model")
    rc, _, err = _cli(capsys, "evaluate", run, "--reference", tmp_path / "ref", "--quiet", "--out", tmp_path / "m.json")
    assert rc == 2 and f"{run / 'model'} with --num N" in _error_line(err)
    rc, _, err = _cli(capsys, "evaluate", tmp_path / "ref", "--reference", tmp_path / "ref", "--metrics", "fid,ssim",
                      "--quiet", "--out", tmp_path / "m.json")
    assert rc == 2 and "--metrics ssim" in _error_line(err) and "--paired" in _error_line(err)
    assert not (tmp_path / "m.json").exists()


def test_evaluate_defaults_to_auto_device():
    from gandistill.cli.main import build_parser

    args = build_parser().parse_args(["evaluate", "x", "--reference", "y"])
    assert args.device == "auto"
    import inspect

    from gandistill.metrics import evaluate
    assert inspect.signature(evaluate).parameters["device"].default == "auto"


def test_kid_std_is_null_with_a_reason_when_subsets_cannot_vary():
    from gandistill.metrics import kid_from_features

    g = torch.Generator().manual_seed(0)
    real, gen = torch.randn(12, 8, generator=g), torch.randn(12, 8, generator=g) + 0.5
    same = kid_from_features(real, gen, num_subsets=20, max_subset_size=1000)
    assert same.std is None and "every subset" in same.std_note and same.subset_size == 12
    smaller = kid_from_features(real, gen, num_subsets=20, max_subset_size=6)
    assert smaller.std is not None and smaller.std > 1e-6


@pytest.mark.slow
def test_small_sample_fid_warns_and_kid_std_null_in_the_table(tmp_path, capsys):
    from metrics_support import inception_or_skip, save_folder, synthetic_images

    inception_or_skip()
    save_folder(synthetic_images(6, size=32, seed=1), tmp_path / "gen")
    save_folder(synthetic_images(5, size=32, seed=2), tmp_path / "ref")
    rc, out, err, warn = _cli_warnings(capsys, "evaluate", tmp_path / "gen", "--reference", tmp_path / "ref",
                                       "--quiet", "--kid-subsets", "5", "--no-cache", "--device", "cpu", "--out",
                                       tmp_path / "m.json")
    assert rc == 0
    assert len(warn) == 1 and warn[0].startswith("warning: FID of 6 generated vs 5 reference images")
    assert "only comparable with FIDs at the same counts" in warn[0]
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["metrics"]["kid_std"] is not None                     # 6 vs 5: the generated subsets vary
    rc, out, err = _cli(capsys, "evaluate", tmp_path / "ref", "--reference", tmp_path / "ref", "--quiet",
                        "--kid-subsets", "5", "--no-cache", "--device", "cpu", "--out", tmp_path / "m2.json")
    m2 = json.loads((tmp_path / "m2.json").read_text())
    assert m2["metrics"]["kid_std"] is None and "every subset" in m2["protocol"]["kid"]["kid_std"]
    assert "kid_std  null: both sets have 5 images" in out


# ---------------------------------------------------------------------------------------------- messages

def test_gpd_anchors_on_an_empty_folder_says_so(tmp_path):
    from gandistill.gpd import load_targets

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as exc:
        load_targets(tmp_path / "empty", 16, 3, max_targets=None, what="anchor data folder", option="--data")
    msg = str(exc.value)
    assert "is empty" in msg and "--data" in msg and "1000000000" not in msg and "1–" not in msg


def test_numeric_caption_is_named_as_not_a_string(tmp_path):
    from gandistill.kdit.data import load_pairs

    _save(tmp_path / "0.png", _photos(1, 16)[0])
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file_name": "0.png", "text": 5}) + "\n")
    with pytest.raises(DataError) as exc:
        load_pairs(tmp_path, "text", 16)
    msg = str(exc.value)
    assert "is 5, a JSON number; captions must be strings" in msg and '"text": "5"' in msg and "empty" not in msg
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file_name": "0.png", "text": "  "}) + "\n")
    with pytest.raises(DataError, match="is empty"):
        load_pairs(tmp_path, "text", 16)


def test_finetune_with_a_teacher_as_student_names_it(models, tmp_path):
    from gandistill.kdit.finetune import FinetuneConfig, finetune

    with pytest.raises(CheckpointError) as exc:
        finetune(FinetuneConfig(student=str(models / "teacher"), data=str(tmp_path), out=str(tmp_path / "o")))
    msg = str(exc.value)
    assert "is a teacher (Teacher)" in msg and "gandistill kdit distill --teacher" in msg and "pass --teacher" not in msg


def test_grey_teacher_can_be_fine_tuned(tmp_path):
    from kdit_support import tiny_config

    from gandistill.data import generate_toyfaces
    from gandistill.kdit.finetune import FinetuneConfig, finetune
    from gandistill.teacher import Teacher

    torch.manual_seed(0)
    cfg = tiny_config()
    cfg.img_channels = 1
    Teacher(cfg).save_pretrained(tmp_path / "teacher")
    teacher = Teacher.from_pretrained(tmp_path / "teacher")
    I2IStudent.from_teacher(teacher).save_pretrained(tmp_path / "i2i", parents={"teacher": teacher.source_hash},
                                                     extra={"teacher_dir": str(tmp_path / "teacher")})
    generate_toyfaces(tmp_path / "toy", n=4, res=16, seed=0, progress=False, workers=1)   # RGB photos and sketches
    model = finetune(FinetuneConfig(out=str(tmp_path / "ft"), modality="image", student=str(tmp_path / "i2i"),
                                    data=str(tmp_path / "toy"), n_pairs=4, batch=2, steps=1, progress=False))
    out = api.KDITStudent.from_pretrained(model).translate(tmp_path / "toy" / "sketch", reference=tmp_path / "toy" /
                                                           "photo" / "000001.png")
    assert out.shape == (4, 1, 16, 16)


def test_api_refuses_nan_images_and_audio(models):
    s = api.GPDStudent.from_pretrained(models / "gpd")
    x = torch.zeros(1, 3, 16, 16)
    x[0, 1, 2, 3] = float("nan")
    with pytest.raises(DataError, match="1 NaN or infinite value"):
        s(x)
    with pytest.raises(DataError, match="NaN or infinite"):
        api.KDITStudent.from_pretrained(models / "i2i").translate(x.numpy())
    from gandistill.data.audio import check_waveform

    clip = np.sin(np.linspace(0, 300, 4000)).astype(np.float32)
    assert check_waveform(clip).shape == (4000,)
    clip[10] = np.inf
    with pytest.raises(DataError, match="waveform has 1 NaN or infinite sample"):
        check_waveform(clip)


def test_onnx_export_names_every_missing_module(models, monkeypatch):
    import importlib.util

    from gandistill.gpd import translate as gpd_translate

    real = importlib.util.find_spec
    fake = {"onnx": object(), "onnxscript": None, "onnx_ir": None}  # onnx present, its two companions not
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: fake[name] if name in fake else real(name, *a))
    with pytest.raises(GandistillError) as exc:
        gpd_translate.export_student(models / "gpd", "onnx")
    msg = str(exc.value)
    assert "missing: onnxscript, onnx_ir" in msg and "pip install 'gandistill[onnx]'" in msg
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["onnx"] == ["onnx", "onnxscript", "onnx-ir"]
