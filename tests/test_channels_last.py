"""Every inference entry point runs channels-last under inference_mode by default, and gives the same
images as NCHW within float rounding (tiny 16 px models)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from kdit_support import tiny_teacher
from PIL import Image

from gandistill import api
from gandistill.data import toyfaces_arrays, write_wav
from gandistill.gpd import TranslatorConfig, UNetTranslator
from gandistill.kdit import I2IStudent, X2IStudent
from gandistill.teacher import Generator, Teacher
from gandistill.utils.inference import (
    channels_last_enabled,
    inference,
    ordinary,
    prepare_for_inference,
    use_channels_last,
)

torch.set_num_threads(1)
CL = torch.channels_last


class FakeEmbedder:
    def encode(self, texts):
        return torch.stack([torch.randn(384, generator=torch.Generator().manual_seed(len(t))) for t in texts])


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cl")
    t = tiny_teacher()
    d = {k: root / k for k in ("teacher", "i2i", "seg", "x2i", "text", "audio", "gpd", "photos", "labels", "clips")}
    t.save_pretrained(d["teacher"])
    torch.manual_seed(0)
    i2i = I2IStudent.from_teacher(t)
    with torch.no_grad():  # non-zero adaptors and heads: the student paths must all matter
        for p in i2i.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    i2i.save_pretrained(d["i2i"])
    I2IStudent.from_teacher(t, input="seg", num_classes=4).save_pretrained(d["seg"])
    X2IStudent.from_teacher(t).save_pretrained(d["x2i"])
    X2IStudent.from_teacher(t, condition="text").save_pretrained(d["text"])
    X2IStudent.from_teacher(t, condition="audio").save_pretrained(d["audio"])
    UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)).save_pretrained(d["gpd"])
    for folder in ("photos", "labels", "clips"):
        d[folder].mkdir()
    for i, a in enumerate(toyfaces_arrays(3, 16, seed=1, domains=("photo",))["photo"]):
        Image.fromarray(a).save(d["photos"] / f"{i}.png")
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16) % 4, "L").save(d["labels"] / "0.png")
    for i in range(2):
        write_wav(d["clips"] / f"{i}.wav", np.sin(np.linspace(0, 900 * (i + 1), 8000)).astype(np.float32) * 0.5)
    d["photo"] = d["photos"] / "0.png"
    return d


def both(fn):
    """(NCHW result, channels-last result) of ``fn()``."""
    with use_channels_last(False):
        a = fn()
    with use_channels_last(True):
        b = fn()
    return a, b


def close_float(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-4) -> None:
    assert a.shape == b.shape
    assert (a - b).abs().max() <= atol, float((a - b).abs().max())


def close_uint8(a: torch.Tensor, b: torch.Tensor) -> None:
    """Quantised outputs: float rounding may flip a value across a level boundary, nothing more."""
    assert a.dtype == b.dtype == torch.uint8 and a.shape == b.shape
    diff = (a.int() - b.int()).abs()
    assert diff.max() <= 1 and (diff > 0).float().mean() < 0.02


def is_channels_last(module: torch.nn.Module) -> bool:
    """Whether the module's 3×3 conv weights (where the layouts differ) are channels-last."""
    ws = [p for p in module.parameters() if p.ndim == 4 and p.shape[1] > 1 and p.shape[-1] > 1]
    assert ws
    return all(p.is_contiguous(memory_format=CL) and not p.is_contiguous() for p in ws)


def ordinary_result(t: torch.Tensor) -> None:
    assert not t.is_inference() and t.is_contiguous()


# ------------------------------------------------------------------------------------------- the helper

def test_prepare_converts_in_place_and_inference_returns_ordinary_tensors(dirs):
    G = Generator.from_pretrained(dirs["teacher"]).train()
    assert prepare_for_inference(G) is G and not G.training
    w = G.synthesis.blocks[1].conv1.conv.weight
    assert w.is_contiguous(memory_format=CL) and not w.is_contiguous()
    with use_channels_last(False):
        G2 = prepare_for_inference(Generator.from_pretrained(dirs["teacher"]))
    assert G2.synthesis.blocks[1].conv1.conv.weight.is_contiguous()

    @inference
    def render(z):
        assert torch.is_inference_mode_enabled()
        return {"img": G(z, noise_mode="const"), "pair": (z * 2, [z])}

    out = render(torch.randn(2, G.z_dim))
    ordinary_result(out["img"])
    ordinary_result(out["pair"][0])
    out["img"].add_(1)  # in-place edits and autograd are allowed on the results
    (out["img"] * torch.ones(1, requires_grad=True)).sum().backward()
    assert ordinary(3) == 3


# ------------------------------------------------------------------------------------------- teacher

def test_teacher_sample_and_style_mixing(dirs):
    from gandistill.teacher.sample import sample_seeds, style_mix_grid

    def run():
        G = Generator.from_pretrained(dirs["teacher"])
        return sample_seeds(G, [0, 1, 2], psi=0.7), style_mix_grid(G, [0, 1], [3, 4], crossover=3), G

    (s0, m0, g0), (s1, m1, g1) = both(run)
    assert g0.synthesis.blocks[2].conv0.conv.weight.is_contiguous()
    assert g1.synthesis.blocks[2].conv0.conv.weight.is_contiguous(memory_format=CL)
    close_float(s0, s1)
    close_float(m0, m1)
    ordinary_result(s1)
    ordinary_result(m1)


def test_api_sample_and_cli(dirs, tmp_path):
    close_uint8(*both(lambda: api.sample(dirs["teacher"], "0-3", psi=0.8)))
    from gandistill.cli.main import main

    def cli():
        out = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
        assert main(["teacher", "sample", "--model", str(dirs["teacher"]), "--out", str(out), "--seeds", "0-2",
                     "--device", "cpu"]) == 0
        return torch.stack([torch.from_numpy(np.array(Image.open(out / f"seed{s:04d}.png"))) for s in range(3)])

    close_uint8(*both(cli))


def test_evaluate_model_source(dirs):
    from gandistill.metrics.sources import model_source

    a, b = both(lambda: torch.cat(list(model_source(dirs["teacher"], 6, seed=1).batches(4))))
    close_uint8(a, b)
    ordinary_result(b)


# ------------------------------------------------------------------------------------------- triplets

def test_triplets(dirs):
    from gandistill.kdit import TripletSampler

    def run():
        G = Generator.from_pretrained(dirs["teacher"])
        s = TripletSampler(G, seed=3, batch=5, return_features=True)
        return next(s), next(s)

    (a1, a2), (b1, b2) = both(run)
    for ta, tb in ((a1, b1), (a2, b2)):
        for name in ("x1", "x2", "y"):
            close_float(getattr(ta, name), getattr(tb, name))
            ordinary_result(getattr(tb, name))
        assert torch.equal(ta.k, tb.k) and torch.equal(ta.w1, tb.w1)
        for fa, fb in zip(ta.feats_y, tb.feats_y):
            close_float(fa, fb)
            ordinary_result(fb)
    # triplets are training targets: usable by autograd (inference tensors would raise here)
    D = Teacher.from_pretrained(dirs["teacher"]).D
    D(b1.y.requires_grad_(True)).sum().backward()


# ------------------------------------------------------------------------------------------- KDIT students

def test_kdit_students_api_serve_and_translate(dirs, tmp_path):
    from gandistill.kdit.translate import translate_audio, translate_images

    def api_all():
        i2i = api.KDITStudent.from_pretrained(dirs["i2i"])
        seg = api.KDITStudent.from_pretrained(dirs["seg"])
        x2i = api.KDITStudent.from_pretrained(dirs["x2i"])
        text = api.KDITStudent.from_pretrained(dirs["text"])
        audio = api.KDITStudent.from_pretrained(dirs["audio"])
        assert is_channels_last(i2i.model) == channels_last_enabled()
        assert is_channels_last(text.model) == channels_last_enabled()
        return [i2i.translate(dirs["photos"], reference=dirs["photo"], k=4, seed=2), i2i.translate(dirs["photos"]),
                seg.translate(dirs["labels"], reference=dirs["photo"]), x2i.translate(dirs["photos"], seed=1),
                text.generate_from_text(["red hair", "a smile"], embedder=FakeEmbedder()),
                audio.generate_from_audio(dirs["clips"], seed=4)]

    for a, b in zip(*both(api_all)):
        close_uint8(a, b)
        ordinary_result(b)

    def cli_fns():
        out = tmp_path / f"t{len(list(tmp_path.iterdir()))}"
        p1 = translate_images(I2IStudent.from_pretrained(dirs["i2i"]), [dirs["photos"]], out / "a",
                              reference=dirs["photo"], k=4, seed=2, progress=False)
        p2 = translate_audio(X2IStudent.from_pretrained(dirs["audio"]), [dirs["clips"]], out / "b", seed=4,
                             progress=False)
        return torch.stack([torch.from_numpy(np.array(Image.open(p))) for p in p1 + p2])

    close_uint8(*both(cli_fns))


def test_serve_translator(dirs):
    from gandistill.serve.models import ModelRegistry
    from gandistill.serve.predict import Request, Translator

    def run():
        t = Translator(ModelRegistry([dirs["i2i"].parent]), embedder=FakeEmbedder())
        labels = {e: t.registry.entry(e).kind for e in t.registry.labels}
        reqs = {"image": lambda m: Request(m, image=str(dirs["photos"] / "0.png"), reference=str(dirs["photo"]), k=4),
                "gpd": lambda m: Request(m, image=str(dirs["photos"] / "1.png")),
                "text": lambda m: Request(m, caption="a face")}
        return [torch.from_numpy(t.run(reqs[k](m))) for m, k in sorted(labels.items()) if k in reqs]

    a, b = both(run)
    assert len(a) == 3
    for x, y in zip(a, b):
        close_uint8(x, y)


# ------------------------------------------------------------------------------------------- GPD

def test_gpd_student_and_translate(dirs, tmp_path):
    from gandistill.gpd import translate_gpd

    close_uint8(*both(lambda: api.GPDStudent.from_pretrained(dirs["gpd"])(dirs["photos"])))

    def cli():
        out = tmp_path / f"g{len(list(tmp_path.iterdir()))}"
        paths = translate_gpd(dirs["gpd"], dirs["photos"], out, progress=False, device="cpu")
        return torch.stack([torch.from_numpy(np.array(Image.open(p))) for p in paths])

    close_uint8(*both(cli))


@pytest.mark.filterwarnings("ignore:projection is poor")
def test_projection_and_teacher_route(dirs):
    from gandistill.gpd import ProjectConfig, teacher_route

    x = api.load_images(dirs["photos"], 16)
    cfg = ProjectConfig(steps=4, loss="dfeat", batch=2)

    def run():
        src, tgt = Teacher.from_pretrained(dirs["teacher"]), Teacher.from_pretrained(dirs["teacher"])
        with torch.no_grad():
            for p in tgt.G.synthesis.parameters():
                p.mul_(1.1)
        y, q = teacher_route(src.G, tgt.G, x, cfg, D_T=src.D)
        return y, q, src

    (y0, q0, s0), (y1, q1, s1) = both(run)
    assert is_channels_last(s1.G) and is_channels_last(s1.D) and not is_channels_last(s0.D)
    close_float(y0, y1, atol=1e-3)  # 4 Adam steps on W+ amplify rounding a little
    assert abs(q0["mean_psnr"] - q1["mean_psnr"]) < 0.05
    ordinary_result(y1)
