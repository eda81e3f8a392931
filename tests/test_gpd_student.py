"""GPD student networks (ModelTesterMixin) and the anchor-based KD terms against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch
from model_tester import ModelTesterMixin

from gandistill.errors import GandistillError
from gandistill.gpd import (KDBatch, PatchDiscriminator, PatchGANConfig, ResNetTranslator, TranslatorConfig,
                            UNetTranslator, anchor_posterior, anchor_relative, latent_distance, trust_weight)
from gandistill.gpd.networks import InstanceNorm
from gandistill.gpd.losses import adversarial, gen_direct, pixels_and





@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_instance_norm_equals_torch_and_keeps_the_layout(dtype, tol, channels_last):
    """InstanceNorm (layout-keeping) is nn.InstanceNorm2d(affine=True): same keys (saved students load), same
    outputs and gradients; a channels-last input gives a channels-last output and input gradient."""
    g = torch.Generator().manual_seed(0)
    ref = torch.nn.InstanceNorm2d(6, affine=True).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(torch.randn(6, generator=g))
        ref.bias.copy_(torch.randn(6, generator=g))
    ours = InstanceNorm(6).to(dtype)
    ours.load_state_dict(ref.state_dict())  # strict: exactly the keys `weight` and `bias`
    assert ours.state_dict().keys() == ref.state_dict().keys()
    x = torch.randn(3, 6, 5, 7, dtype=dtype, generator=g) * 3 + 2  # non-zero means, non-square
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ref(xa), ours(xb)
    grad = torch.randn(ya.shape, dtype=dtype, generator=g)
    ya.backward(grad)
    yb.backward(grad)
    close = dict(rtol=tol, atol=tol)
    torch.testing.assert_close(yb, ya, **close)
    torch.testing.assert_close(xb.grad, xa.grad, **close)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **close)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad, **close)
    if channels_last:
        assert yb.is_contiguous(memory_format=torch.channels_last) and not yb.is_contiguous()
        assert xb.grad.is_contiguous(memory_format=torch.channels_last) and not xb.grad.is_contiguous()


def test_instance_norm_refuses_a_single_pixel():
    with pytest.raises(GandistillError, match="more than one pixel"):
        InstanceNorm(4)(torch.randn(2, 4, 1, 1))


TINY = dict(in_channels=3, out_channels=3, resolution=16, channels=4, max_channels=16, depth=3)


class TestUNetTranslator(ModelTesterMixin):
    output_shape = (2, 3, 16, 16)

    def make_model(self):
        return UNetTranslator(TranslatorConfig(**TINY))

    def make_inputs(self):
        return (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)


class TestResNetTranslator(ModelTesterMixin):
    output_shape = (2, 1, 16, 16)

    def make_model(self):
        return ResNetTranslator(TranslatorConfig(**{**TINY, "out_channels": 1, "depth": 2}))

    def make_inputs(self):
        return (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)


class TestPatchDiscriminator(ModelTesterMixin):
    output_shape = (2, 1, 4, 4)

    def make_model(self):
        return PatchDiscriminator(PatchGANConfig(in_channels=6, channels=4, layers=2))

    def make_inputs(self):
        return (torch.randn(2, 6, 16, 16, generator=torch.Generator().manual_seed(0)),)


def test_adversarial_judges_generated_inputs_only_when_asked():
    x, s_real = torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    s_gen = torch.ones(3, 1, 2, 2, requires_grad=True)
    seen = []
    b = KDBatch(phi=pixels_and(None), x_real=x, y_real=x, s_real=s_real, x_gen=torch.ones(3, 1, 2, 2),
                s_gen=s_gen, disc=lambda t: seen.append(t.shape[0]) or t.mean(dim=(1, 2, 3)))
    adversarial(b)
    assert seen == [2]  # real-input outputs only: generated input photos would give fakes away
    b.adv_generated = True
    adversarial(b).backward()
    assert seen[-1] == 5 and s_gen.grad is not None and s_gen.grad.abs().sum() > 0


def test_translator_rejects_bad_sizes():
    S = UNetTranslator(TranslatorConfig(**TINY))
    with pytest.raises(GandistillError, match="divisible by 8"):
        S(torch.zeros(1, 3, 12, 12))
    with pytest.raises(GandistillError, match=r"\[N, 3, H, W\]"):
        S(torch.zeros(1, 1, 16, 16))


def test_latent_distance_is_rms_over_rows():
    ws = torch.zeros(1, 4, 2)
    anchors = torch.stack([torch.zeros(4, 2), torch.full((4, 2), 1.0)])
    ws[0, :, 0] = 3.0  # every row at distance 3 from anchor 0
    d = latent_distance(ws, anchors)
    assert d[0, 0] == pytest.approx(3.0)
    assert d[0, 1] == pytest.approx(math.sqrt(4 + 1))


def test_trust_weight_and_posterior_match_hand_computation():
    tau, omega_min = 2.0, 0.1
    dist = torch.tensor([[1.0, 3.0], [5.0, 4.0]])
    omega = trust_weight(dist, tau, omega_min)
    assert omega[0] == pytest.approx(math.exp(-1 / 8))                 # nearest anchor at d = 1
    assert omega[1] == pytest.approx(max(0.1, math.exp(-16 / 8)))      # d = 4 → e^-2 = 0.135
    assert trust_weight(torch.tensor([[10.0]]), tau, omega_min)[0] == pytest.approx(0.1)  # floored
    post = anchor_posterior(dist, tau)
    e = [math.exp(-1 / 4), math.exp(-9 / 4)]
    assert post[0, 0] == pytest.approx(e[0] / sum(e))
    assert torch.allclose(post.sum(1), torch.ones(2))


def _phi(img):
    return [torch.nn.functional.avg_pool2d(img, 2)]


def test_anchor_relative_zero_when_student_reproduces_teacher():
    g = torch.Generator().manual_seed(0)
    y_gen, y_anchor = torch.randn(3, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    post = torch.softmax(torch.randn(3, 2, generator=g), 1)
    b = KDBatch(phi=pixels_and(_phi), x_real=y_anchor, y_real=y_anchor, s_real=y_anchor, y_gen=y_gen,
                s_gen=y_gen.clone(), post=post, anchor_y=y_anchor, s_anchor=y_anchor.clone())
    assert float(anchor_relative(b)) == 0.0
    # a student off by a constant everywhere changes exactly as the teacher does: still zero
    b.s_gen, b.s_anchor = y_gen + 0.5, y_anchor + 0.5
    assert float(anchor_relative(b)) == pytest.approx(0.0, abs=1e-6)
    b.s_gen = y_gen + torch.randn_like(y_gen)
    assert float(anchor_relative(b)) > 0


def test_anchor_relative_matches_hand_computation():
    # pixels only (φ = identity), one generated sample, two anchors
    s_gen, y_gen = torch.full((1, 1, 1, 1), 2.0), torch.full((1, 1, 1, 1), 1.0)
    s_anc = torch.tensor([0.0, 1.0]).view(2, 1, 1, 1)
    y_anc = torch.tensor([0.0, 3.0]).view(2, 1, 1, 1)
    post = torch.tensor([[0.25, 0.75]])
    b = KDBatch(phi=pixels_and(None), x_real=s_anc, y_real=y_anc, s_real=s_anc, y_gen=y_gen, s_gen=s_gen,
                post=post, anchor_y=y_anc, s_anchor=s_anc)
    # anchor 0: |(2-0)-(1-0)| = 1; anchor 1: |(2-1)-(1-3)| = 3 → 0.25·1 + 0.75·3
    assert float(anchor_relative(b)) == pytest.approx(2.5)


def test_direct_term_is_trust_weighted():
    s, y = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    b = KDBatch(phi=pixels_and(None), x_real=s, y_real=y, s_real=s, y_gen=y, s_gen=s, omega=torch.tensor([1.0, 0.5]))
    assert float(gen_direct(b)) == pytest.approx(0.75)
    b.omega = None
    assert float(gen_direct(b)) == pytest.approx(1.0)


def test_translate_cli_export_torchscript(tmp_path):
    """`gandistill translate --export torchscript` writes a traced student equal to the eager one."""
    import torch

    from gandistill.cli.main import main as cli
    torch.manual_seed(0)
    S = UNetTranslator(TranslatorConfig(**TINY))
    S.save_pretrained(tmp_path / "s")
    assert cli(["translate", "--model", str(tmp_path / "s"), "--export", "torchscript",
                "--output", str(tmp_path / "out")]) == 0
    traced = torch.jit.load(str(tmp_path / "out" / "student.ts.pt"))
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(traced(x), S.eval()(x), atol=1e-5)


def test_generated_pair_terms_have_independent_weights():
    """No hidden ratio: the perceptual term of generated pairs is its own term (w_gen_perc), both ω-weighted."""
    from gandistill.gpd.config import GPDDistillConfig
    from gandistill.gpd.losses import KD_TERMS, gen_perceptual
    from gandistill.train.terms import weights_of

    s, y = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    b = KDBatch(phi=pixels_and(_phi), x_real=s, y_real=y, s_real=s, y_gen=y, s_gen=s,
                omega=torch.tensor([1.0, 0.0]))
    assert float(gen_direct(b)) == pytest.approx(0.5)         # pixels only: (1·1 + 0·1) / 2
    assert float(gen_perceptual(b)) == pytest.approx(0.5)     # the avg-pooled level only
    assert KD_TERMS["direct"] is gen_direct and KD_TERMS["gen_perc"] is gen_perceptual
    cfg = GPDDistillConfig(w_l1=0.0)  # used to divide the perceptual weight by w_l1 (×10⁸ at 0)
    assert weights_of(cfg, ["direct", "gen_perc"]) == {"direct": 10.0, "gen_perc": 1.0}


def test_corrected_anchor_term_cancels_a_teacher_bias_and_real_form_does_not():
    """Teacher pairs off by a constant bias near an anchor: the corrected form (anchor end (y_a,
    G_target(w_a))) is zero for the true translator; DESIGN's first form charges it the full bias, i.e. it
    trusts the generated pixels as the direct term does once S fits the real pair."""
    g = torch.Generator().manual_seed(1)
    truth_gen, y_a = torch.randn(3, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    bias = 0.7
    y_gen, twin_y = truth_gen + bias, y_a + bias          # the teacher renders everything brighter
    post = torch.ones(3, 1)
    corrected = KDBatch(phi=pixels_and(None), x_real=y_a, y_real=y_a, s_real=y_a, y_gen=y_gen, s_gen=truth_gen,
                        post=post, s_anchor=y_a, anchor_y=twin_y)
    assert float(anchor_relative(corrected)) == pytest.approx(0.0, abs=1e-6)
    real = KDBatch(phi=pixels_and(None), x_real=y_a, y_real=y_a, s_real=y_a, y_gen=y_gen, s_gen=truth_gen,
                   post=post, s_anchor=y_a.clone(), anchor_y=y_a)  # S fits the real pair: S(x_a) = y_a
    assert float(anchor_relative(real)) == pytest.approx(bias)
    assert float(anchor_relative(real)) == pytest.approx(float(gen_direct(real)))
    corrected.rel_weight = torch.tensor([1.0, 0.0, 0.0])
    corrected.s_gen = truth_gen + 1.0
    assert float(anchor_relative(corrected)) == pytest.approx(1.0 / 3)  # trust-weighted per sample
