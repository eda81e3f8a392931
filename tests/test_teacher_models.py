import math

import pytest
import torch

from gandistill.errors import CheckpointError
from gandistill.teacher import Discriminator, Generator, StyleGAN2Config, Teacher
from gandistill.teacher.discriminator import minibatch_stddev
from gandistill.teacher.presets import PRESETS
from model_tester import ModelTesterMixin

TINY = PRESETS["tiny"].model


class TestGenerator(ModelTesterMixin):
    output_shape = (3, 3, 16, 16)
    forward_kwargs = {"noise_mode": "random"}

    def make_model(self):
        return Generator(StyleGAN2Config(**TINY))

    def make_inputs(self):
        return (torch.randn(3, 16, generator=torch.Generator().manual_seed(1)),)


class TestDiscriminator(ModelTesterMixin):
    output_shape = (4, 1)

    def make_model(self):
        return Discriminator(StyleGAN2Config(**TINY))

    def make_inputs(self):
        return (torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1,)


class TestGreyGenerator32(ModelTesterMixin):
    output_shape = (2, 1, 32, 32)
    forward_kwargs = {"noise_mode": "const"}

    def make_model(self):
        return Generator(StyleGAN2Config(**{**TINY, "resolution": 32, "img_channels": 1}))

    def make_inputs(self):
        return (torch.randn(2, 16, generator=torch.Generator().manual_seed(3)),)


@pytest.mark.parametrize("res", [16, 64, 256, 1024])
def test_any_power_of_two_resolution(res):
    cfg = StyleGAN2Config(resolution=res, z_dim=8, w_dim=8, mapping_layers=1, channel_base=2048, channel_max=8)
    assert cfg.num_ws == 2 * int(math.log2(res)) - 2
    G, D = Generator(cfg), Discriminator(cfg)
    with torch.no_grad():
        ws = G.mapping(torch.randn(2, 8))
        img = G.synthesis(ws, noise_mode="none")
        assert ws.shape == (2, cfg.num_ws, 8) and img.shape == (2, 3, res, res)
        logits, feats = D(img, return_features=True)
    assert logits.shape == (2, 1)
    assert sorted(k for k in feats if k) == [2 ** i for i in range(2, int(math.log2(res)) + 1)]


def test_invalid_resolution_rejected():
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN2Config(resolution=48)
    with pytest.raises(ValueError, match="raise channel_base"):
        StyleGAN2Config(resolution=256, channel_base=64)


def test_truncation_pulls_towards_w_avg():
    torch.manual_seed(0)
    G = Generator(StyleGAN2Config(**TINY))
    G.mapping.w_avg.normal_()
    z = torch.randn(4, 16)
    w1, w0 = G.mapping(z), G.mapping(z, psi=0.0)
    assert torch.allclose(w0, G.mapping.w_avg.expand_as(w0))
    wh = G.mapping(z, psi=0.5)
    assert torch.allclose(wh, (w1 + w0) / 2, atol=1e-6)


def test_style_mixing_rows_control_layers():
    """ws rows are per layer: changing only the last row changes only the toRGB of the last block."""
    torch.manual_seed(0)
    G = Generator(StyleGAN2Config(**TINY)).eval()
    ws = G.mapping(torch.randn(2, 16))
    img, feats = G.synthesis(ws, noise_mode="const", return_features=True)
    ws2 = ws.clone()
    ws2[:, -1] = G.mapping(torch.randn(2, 16))[:, -1]
    img2, feats2 = G.synthesis(ws2, noise_mode="const", return_features=True)
    assert all(torch.equal(a, b) for a, b in zip(feats, feats2))  # all conv activations unchanged
    assert not torch.allclose(img, img2)


def test_run_blocks_prefix_sharing_matches_full_pass():
    torch.manual_seed(0)
    G = Generator(StyleGAN2Config(**TINY)).eval()
    ws = G.mapping(torch.randn(2, 16))
    full = G.synthesis(ws, noise_mode="const")
    img, _, x = G.synthesis.run_blocks(ws, 0, 2, noise_mode="const")
    rest, _, _ = G.synthesis.run_blocks(ws, 2, None, x=x, img=img, noise_mode="const")
    assert torch.equal(full, rest)


def test_noise_modes():
    torch.manual_seed(0)
    G = Generator(StyleGAN2Config(**TINY)).eval()
    for blk in G.synthesis.blocks:
        for conv in [m for m in blk.modules() if hasattr(m, "noise_strength")]:
            conv.noise_strength.data.fill_(0.5)
    ws = G.mapping(torch.randn(2, 16))
    assert torch.equal(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const"))
    assert not torch.equal(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random"))
    assert not torch.equal(G.synthesis(ws, noise_mode="none"), G.synthesis(ws, noise_mode="const"))
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="bogus")


def test_minibatch_stddev_groups_like_reference():
    x = torch.randn(8, 2, 4, 4)
    y = minibatch_stddev(x, 4)
    # sample n shares statistics with n ± N/G (here n and n+2, n+4, n+6)
    ref = x.view(4, 2, 2, 4, 4).std(dim=0, unbiased=False).mean(dim=(1, 2, 3))
    assert torch.allclose(y[0, -1, 0, 0], ref[0], atol=1e-4) and torch.allclose(y[2, -1, 0, 0], ref[0], atol=1e-4)
    assert torch.allclose(y[1, -1, 0, 0], ref[1], atol=1e-4)
    assert minibatch_stddev(torch.randn(6, 2, 4, 4), 4).shape == (6, 3, 4, 4)  # falls back to group 3


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("join", [16, 8, 4])  # joined from the start, after the 16 px block, only for the epilogue
def test_discriminator_pair_equals_two_calls(channels_last, join):
    # fakes and reals in one pass: the same logits and weight gradients as two passes (mbstd within each batch)
    torch.manual_seed(0)
    D = Discriminator(StyleGAN2Config(**TINY)).double()
    D.pair_join_resolution = join
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    D.to(memory_format=fmt)
    a, b = (torch.randn(8, 3, 16, 16, dtype=torch.float64).contiguous(memory_format=fmt) for _ in range(2))
    la, lb = D.pair(a, b)
    ra, rb = D(a), D(b)
    torch.testing.assert_close(la, ra, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(lb, rb, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(D.pair(a, 3 * b)[0], la, rtol=1e-12, atol=1e-12)  # a's groups do not see b
    assert not torch.allclose(D(torch.cat([a, b]))[:8], ra)  # as one batch of 16 they would
    grads = torch.autograd.grad((la.sum() - lb.square().sum()), list(D.parameters()))
    expected = torch.autograd.grad((ra.sum() - rb.square().sum()), list(D.parameters()))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    la, lb = D.pair(a[:6], b)  # unequal batches: two ordinary passes
    assert la.shape == (6, 1) and lb.shape == (8, 1)


def test_generator_loads_from_teacher_dir_and_wrong_class_errors(tmp_path):
    torch.manual_seed(0)
    t = Teacher(StyleGAN2Config(**TINY))
    t.save_pretrained(tmp_path / "t")
    G = Generator.from_pretrained(tmp_path / "t")
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), t.G.state_dict().values()))
    D = Discriminator.from_pretrained(tmp_path / "t")
    assert all(torch.equal(a, b) for a, b in zip(D.state_dict().values(), t.D.state_dict().values()))
    G.save_pretrained(tmp_path / "g")
    with pytest.raises(CheckpointError, match="has no Discriminator"):
        Discriminator.from_pretrained(tmp_path / "g")
    with pytest.raises(CheckpointError, match="config.json is missing"):
        Generator.from_pretrained(tmp_path / "nowhere")


def test_incompatible_config_lists_mismatched_keys(tmp_path):
    t = Generator(StyleGAN2Config(**TINY))
    t.save_pretrained(tmp_path / "g")
    import json

    meta = json.loads((tmp_path / "g" / "config.json").read_text())
    meta["config"]["channel_max"] = 8
    (tmp_path / "g" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        Generator.from_pretrained(tmp_path / "g")
