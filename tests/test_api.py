"""The Python API facades (gandistill.api, lazy exports of the package root) on tiny 16 px models."""
from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from kdit_support import tiny_teacher
from PIL import Image

import gandistill
from gandistill import api
from gandistill.data import toyfaces_arrays, write_wav
from gandistill.errors import CheckpointError, DataError
from gandistill.gpd import TranslatorConfig, UNetTranslator
from gandistill.kdit import I2IStudent, X2IStudent
from gandistill.kdit.translate import translate_audio, translate_images
from gandistill.teacher import Generator
from gandistill.teacher.sample import sample_seeds
from gandistill.utils.images import to_uint8

torch.set_num_threads(1)


class FakeEmbedder:
    """Deterministic 384-d caption embeddings (the tests must not depend on the MiniLM wheel)."""

    def encode(self, texts):
        return torch.stack([torch.randn(384, generator=torch.Generator().manual_seed(len(t))) for t in texts])


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    t = tiny_teacher()
    d = {"teacher_dir": root / "teacher", "i2i_dir": root / "i2i", "seg_dir": root / "seg",
         "x2i_dir": root / "x2i", "text_dir": root / "text", "audio_dir": root / "audio", "gpd_dir": root / "gpd"}
    t.save_pretrained(d["teacher_dir"])
    torch.manual_seed(0)
    I2IStudent.from_teacher(t).save_pretrained(d["i2i_dir"])
    I2IStudent.from_teacher(t, input="seg", num_classes=4).save_pretrained(d["seg_dir"])
    X2IStudent.from_teacher(t).save_pretrained(d["x2i_dir"])
    X2IStudent.from_teacher(t, condition="text").save_pretrained(d["text_dir"])
    X2IStudent.from_teacher(t, condition="audio").save_pretrained(d["audio_dir"])
    UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)).save_pretrained(d["gpd_dir"])
    arr = toyfaces_arrays(3, 32, seed=1, domains=("photo",))["photo"]  # 32 px: files get resized to 16
    (root / "photos").mkdir()
    for i, a in enumerate(arr):
        Image.fromarray(a).save(root / "photos" / f"{i}.png")
    (root / "labels").mkdir()
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16) % 4, "L").save(root / "labels" / "0.png")
    (root / "clips").mkdir()
    for i in range(2):
        write_wav(root / "clips" / f"{i}.wav", np.sin(np.linspace(0, 900 * (i + 1), 8000)).astype(np.float32) * 0.5)
    d.update(root=root, photos=root / "photos", photo=root / "photos" / "0.png", labels=root / "labels",
             clips=root / "clips")
    return d


# ---------------------------------------------------------------------------------------------- package root

def test_root_exports_are_lazy_and_resolve():
    code = "import sys, gandistill; assert 'torch' not in sys.modules; print(len(gandistill.__all__))"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    from gandistill import (
        GPDStudent,
        KDITStudent,
        Teacher,
        TripletSampler,
        adapt,
        compute_anchors,
        distill,
        evaluate,
        finetune,
        import_checkpoint,
        sample,
        train_teacher,
    )
    from gandistill.gpd import adapt as gpd_adapt
    from gandistill.gpd import compute_anchors as gpd_anchors
    from gandistill.importers import import_checkpoint as imp
    from gandistill.kdit import TripletSampler as TS
    from gandistill.kdit import finetune as kdit_finetune
    from gandistill.metrics import evaluate as ev
    from gandistill.teacher import Teacher as T
    from gandistill.teacher.train import train_teacher as tt

    assert (TripletSampler, Teacher, adapt, compute_anchors, finetune, evaluate, import_checkpoint, train_teacher) == \
        (TS, T, gpd_adapt, gpd_anchors, kdit_finetune, ev, imp, tt)
    assert (KDITStudent, GPDStudent, sample, distill) == (api.KDITStudent, api.GPDStudent, api.sample, api.distill)
    for name in gandistill.__all__:
        assert getattr(gandistill, name) is not None
    with pytest.raises(AttributeError):
        gandistill.no_such_name  # noqa: B018


def test_distill_dispatches_on_the_config_type(dirs, monkeypatch):
    from gandistill import GPDDistillConfig, KDITDistillConfig

    calls = []
    # the packages re-export `distill`, which shadows the submodule name: patch the modules themselves
    kdit_module, gpd_module = (importlib.import_module(f"gandistill.{m}.distill") for m in ("kdit", "gpd"))
    monkeypatch.setattr(kdit_module, "distill", lambda cfg, dry_run=False: calls.append("kdit"))
    monkeypatch.setattr(gpd_module, "distill", lambda cfg, dry_run=False: calls.append("gpd"))
    api.distill(KDITDistillConfig(teacher=str(dirs["teacher_dir"])), dry_run=True)
    api.distill(GPDDistillConfig(), dry_run=True)
    assert calls == ["kdit", "gpd"]
    with pytest.raises(TypeError, match="KDITDistillConfig or a GPDDistillConfig"):
        api.distill(object())


# ---------------------------------------------------------------------------------------------- inputs

def test_load_images_accepts_every_layout(dirs):
    rgb = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    want = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 127.5 - 1
    for x in (rgb, torch.from_numpy(rgb), torch.from_numpy(rgb).permute(0, 3, 1, 2), want):
        assert torch.equal(api.load_images(x), want)
    assert torch.equal(api.load_images(rgb[0]), want[:1])                      # HWC
    assert api.load_images(rgb[0, :, :, 0]).shape == (1, 3, 16, 16)            # grey HW → RGB
    files = api.load_images(dirs["photos"], resolution=16)                      # folder, resized
    assert files.shape == (3, 3, 16, 16) and -1 <= files.min() and files.max() <= 1
    assert torch.equal(api.load_images([dirs["photo"]], 16), files[:1])
    with pytest.raises(DataError, match="does not exist"):
        api.load_images("no/such.png")
    with pytest.raises(DataError):
        api.load_images(torch.zeros(2, 2, 2, 2, 2))


# ---------------------------------------------------------------------------------------------- teacher

def test_sample_matches_the_teacher(dirs):
    imgs = api.sample(dirs["teacher_dir"], "0-2", psi=0.7)
    G = Generator.from_pretrained(dirs["teacher_dir"]).eval()
    assert imgs.dtype == torch.uint8 and imgs.shape == (3, 3, 16, 16)
    assert torch.equal(imgs, to_uint8(sample_seeds(G, [0, 1, 2], psi=0.7)))
    assert torch.equal(api.sample(dirs["teacher_dir"], 2, psi=0.7)[0], imgs[2])


# ---------------------------------------------------------------------------------------------- KDIT

def test_kdit_i2i_translate_matches_the_cli(dirs, tmp_path):
    s = api.KDITStudent.from_pretrained(dirs["i2i_dir"])
    assert (s.kind, s.modality, s.resolution) == ("i2i", "image", 16)
    out = s.translate(dirs["photos"], reference=dirs["photo"], k=4, seed=3)
    assert out.dtype == torch.uint8 and out.shape == (3, 3, 16, 16)
    written = translate_images(I2IStudent.from_pretrained(dirs["i2i_dir"]), [dirs["photos"]], tmp_path,
                               reference=dirs["photo"], k=4, seed=3, progress=False)
    cli = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) for p in written])
    assert torch.equal(out, cli)
    # noise appearance: seeded, and in-memory inputs give the same result as files
    x = api.load_images(dirs["photos"], 16)
    assert torch.equal(s.translate(x, seed=1), s.translate(dirs["photos"], seed=1))
    assert not torch.equal(s.translate(x, seed=1), s.translate(x, seed=2))
    with pytest.raises(DataError, match="k must be"):
        s.translate(x, k=99)
    with pytest.raises(DataError, match="3 inputs but 2 references"):
        s.translate(x, reference=x[:2])
    with pytest.raises(DataError, match="8x8 pixels; images must be at least 16x16"):
        s.translate(torch.zeros(1, 3, 8, 8))
    # in-memory images at another size are resized like files, and size="input" writes them back at it
    big = torch.from_numpy(np.stack([np.array(Image.open(dirs["photos"] / f"{i}.png")) for i in range(3)]))
    assert torch.equal(s.translate(big, seed=1), s.translate(dirs["photos"], seed=1))
    assert torch.equal(s.translate(big, seed=1, size="input"), s.translate(dirs["photos"], seed=1, size=32))
    assert s.translate(dirs["photos"], seed=1, size="input").shape == (3, 3, 32, 32)
    with pytest.raises(DataError, match=r"use \.translate\(\)"):
        s.generate_from_text("a face")


def test_kdit_seg_translate(dirs):
    s = api.KDITStudent.from_pretrained(dirs["seg_dir"])
    assert (s.kind, s.modality) == ("i2i", "seg")
    from_file = s.translate(dirs["labels"], seed=0)
    label = torch.from_numpy(np.array(Image.open(dirs["labels"] / "0.png")))
    assert torch.equal(from_file, s.translate(label, seed=0))
    assert s.translate(label[None].repeat(2, 1, 1), reference=dirs["photo"]).shape == (2, 3, 16, 16)
    with pytest.raises(DataError, match="num_classes=4"):
        s.translate(torch.full((1, 16, 16), 7, dtype=torch.uint8))


def test_kdit_x2i_text_audio_and_image(dirs, tmp_path):
    text = api.KDITStudent.from_pretrained(dirs["text_dir"])
    out = text.generate_from_text(["a smiling face", "red hair"], embedder=FakeEmbedder())
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.uint8
    assert torch.equal(out[:1], text.generate_from_text("a smiling face", embedder=FakeEmbedder()))
    with pytest.raises(DataError, match=r"use \.generate_from_text\(\)"):
        text.translate(dirs["photo"])

    audio = api.KDITStudent.from_pretrained(dirs["audio_dir"])
    out = audio.generate_from_audio(dirs["clips"], seed=5)
    written = translate_audio(X2IStudent.from_pretrained(dirs["audio_dir"]), [dirs["clips"]], tmp_path, seed=5,
                              progress=False)
    cli = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) for p in written])
    assert torch.equal(out, cli)
    from gandistill.data import load_wav

    waves = [load_wav(p) for p in sorted(dirs["clips"].glob("*.wav"))]
    assert torch.equal(audio.generate_from_audio(waves, seed=5), out)
    assert torch.equal(audio.generate_from_audio(np.stack(waves), seed=5), out)
    with pytest.raises(DataError, match="1-D"):
        audio.generate_from_audio([np.zeros((2, 2), np.float32)])
    with pytest.raises(DataError, match="generate_from_audio"):
        audio.generate_from_text("x", embedder=FakeEmbedder())

    img = api.KDITStudent.from_pretrained(dirs["x2i_dir"])
    assert (img.kind, img.modality) == ("x2i", "image")
    assert img.translate(dirs["photos"]).shape == (3, 3, 16, 16)
    with pytest.raises(DataError, match="no reference"):
        img.translate(dirs["photos"], reference=dirs["photo"])


# ---------------------------------------------------------------------------------------------- GPD

def test_gpd_student_accepts_paths_arrays_and_floats(dirs, tmp_path):
    s = api.GPDStudent.from_pretrained(dirs["gpd_dir"])
    from_files = s(dirs["photos"])
    assert from_files.dtype == torch.uint8 and from_files.shape == (3, 3, 16, 16)
    x = api.load_images(dirs["photos"], 16)
    u8 = to_uint8(x)
    assert torch.equal(s(x), from_files)
    assert torch.equal(s(u8), from_files)                                       # uint8 NCHW
    assert torch.equal(s(u8.permute(0, 2, 3, 1).numpy()), from_files)          # uint8 NHWC array
    assert torch.equal(s(u8[0].permute(1, 2, 0).numpy()), from_files[:1])      # one HWC image
    assert torch.equal(s([dirs["photo"]]), from_files[:1])
    big = torch.from_numpy(np.stack([np.array(Image.open(dirs["photos"] / f"{i}.png")) for i in range(3)]))
    assert torch.equal(s(big), from_files)                                      # resized like the files
    assert s(big, size="input").shape == (3, 3, 32, 32) == s(dirs["photos"], size="input").shape
    from gandistill.gpd import translate_gpd

    written = translate_gpd(dirs["gpd_dir"], dirs["photos"], tmp_path, progress=False)
    cli = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) for p in written])
    assert torch.equal(from_files, cli)
    path = s.export("torchscript", tmp_path / "s.ts.pt")
    assert path.is_file()
    # the same student through `gandistill translate` (dispatched by the model registry's kind)
    from gandistill.cli.main import main

    assert main(["translate", "--model", str(dirs["gpd_dir"]), "--input", str(dirs["photo"]), "--output",
                 str(tmp_path / "o"), "--batch", "4", "--device", "cpu", "--no-progress"]) == 0
    via_cli = torch.from_numpy(np.array(Image.open(tmp_path / "o" / "0.png"))).permute(2, 0, 1)
    assert torch.equal(via_cli, from_files[0])


# ---------------------------------------------------------------------------------------------- wrong classes

@pytest.mark.parametrize("facade, key, found, right", [
    (api.KDITStudent.from_pretrained, "gpd_dir", "UNetTranslator", "GPDStudent"),
    (api.KDITStudent.from_pretrained, "teacher_dir", "Teacher", "Teacher.from_pretrained"),
    (api.GPDStudent.from_pretrained, "i2i_dir", "I2IStudent", "KDITStudent"),
    (api.GPDStudent.from_pretrained, "text_dir", "X2IStudent", "KDITStudent"),
    (api.sample, "seg_dir", "I2IStudent", "KDITStudent"),
])
def test_wrong_model_class_names_the_class_and_the_facade(dirs, facade, key, found, right):
    with pytest.raises(CheckpointError) as exc:
        facade(dirs[key]) if facade is not api.sample else facade(dirs[key], [0])
    msg = str(exc.value)
    assert repr(found) in msg and right in msg, msg


def test_missing_directory_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not a model directory"):
        api.GPDStudent.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------- docstrings

def test_docstring_examples_run(dirs):
    globs = {"np": np, "torch": torch, **{k: str(v) for k, v in dirs.items()}}
    globs.update(sample=api.sample, KDITStudent=api.KDITStudent, GPDStudent=api.GPDStudent,
                 load_images=api.load_images)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(api, globs=globs)
    text_student = api.KDITStudent.generate_from_text
    api.KDITStudent.generate_from_text = lambda self, captions, **kw: text_student(  # no MiniLM needed
        self, captions, embedder=kw.pop("embedder", FakeEmbedder()), **kw)
    try:
        for t in tests:
            runner.run(t)
    finally:
        api.KDITStudent.generate_from_text = text_student
    result = runner.summarize(verbose=False)
    assert result.attempted >= 15 and result.failed == 0
