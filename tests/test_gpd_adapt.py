"""GPD adaptation: CDC loss semantics, shared W, layer freezing, resume, target-input checks."""
from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from gpd_support import make_teacher, toy_pairs, write_images

from gandistill.errors import DataError, GandistillError
from gandistill.gpd import AdaptConfig, adapt, cdc_loss, cdc_term, load_targets, similarity_distribution
from gandistill.teacher import Generator, Teacher




@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    return make_teacher(tmp_path_factory.mktemp("t") / "teacher")


@pytest.fixture(scope="module")
def targets_dir(tmp_path_factory):
    from gandistill.data import toyfaces_arrays

    sketches = toyfaces_arrays(3, 16, seed=1, domains=("sketch",))["sketch"]
    return write_images(tmp_path_factory.mktemp("targets"), sketches)


def test_similarity_distribution_is_normalised():
    logp = similarity_distribution(torch.randn(5, 3, 4, 4))
    assert logp.shape == (5, 4)
    assert torch.allclose(logp.exp().sum(1), torch.ones(5))


def test_cdc_zero_for_identical_generators_and_positive_when_different(teacher_dir):
    G_T = Generator.from_pretrained(teacher_dir).requires_grad_(False)
    G = copy.deepcopy(G_T)
    ws = G_T.mapping(torch.randn(4, 16, generator=torch.Generator().manual_seed(0)))
    assert float(cdc_term(G_T, G, ws, 1.0)) == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        for p in G.synthesis.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    assert float(cdc_term(G_T, G, ws, 1.0)) > 1e-4


def test_cdc_gradient_only_when_weight_positive(teacher_dir):
    G_T = Generator.from_pretrained(teacher_dir).requires_grad_(False)
    G = copy.deepcopy(G_T).requires_grad_(True)
    with torch.no_grad():
        G.synthesis.blocks[1].conv1.conv.weight.add_(0.3)
    ws = G_T.mapping(torch.randn(4, 16))
    assert not cdc_term(G_T, G, ws, 0.0).requires_grad
    loss = cdc_term(G_T, G, ws, 5.0)
    assert loss.requires_grad
    loss.backward()
    assert G.synthesis.blocks[1].conv1.conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in G_T.parameters())


def test_cdc_loss_matches_hand_computed_kl():
    a = [torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])]
    b = [torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])]
    def dist(f):
        f = torch.nn.functional.normalize(f, dim=1)
        s = f @ f.t()
        return torch.stack([torch.softmax(torch.cat([s[i, :i], s[i, i + 1:]]), 0) for i in range(3)])
    p, q = dist(a[0]), dist(b[0])
    # the authors' nn.KLDivLoss() default: element mean over the N×(N−1) entries (not per sample)
    expected = (p * (p.log() - q.log())).mean()
    assert float(cdc_loss(a, b)) == pytest.approx(float(expected), rel=1e-5)


def _cfg(tmp_path, teacher_dir, targets_dir, **kw):
    base = dict(out=str(tmp_path / "adapt"), teacher=str(teacher_dir), target=str(targets_dir), steps=3, batch=2,
                snap_every=2, grid_every=2, progress=False, device="cpu")
    base.update(kw)
    return AdaptConfig(**base)


def test_adapt_keeps_w_shared_and_records_parent(tmp_path, teacher_dir, targets_dir):
    model = adapt(_cfg(tmp_path, teacher_dir, targets_dir, freeze_g=[0]))
    src, tgt = Teacher.from_pretrained(teacher_dir), Teacher.from_pretrained(model)
    for (k, v), (_, w) in zip(src.G.mapping.state_dict().items(), tgt.G.mapping.state_dict().items()):
        assert torch.equal(v, w), k
    for (k, v), (_, w) in zip(src.G.synthesis.blocks[0].state_dict().items(),
                              tgt.G.synthesis.blocks[0].state_dict().items()):
        assert torch.equal(v, w), k  # frozen block
    assert not torch.equal(src.G.synthesis.blocks[2].conv1.conv.weight, tgt.G.synthesis.blocks[2].conv1.conv.weight)
    meta = json.loads((model / "config.json").read_text())
    assert meta["parents"]["teacher"] == src.source_hash
    from PIL import Image

    arr = np.asarray(Image.open(tmp_path / "adapt" / "samples" / "compare-00000003.png").convert("RGB"))
    assert (arr[:, :100].min(-1) < 100).sum() > 50  # the row labels (G_T / G_target) left of the tiles
    assert meta["extra"]["teacher_dir"] == os.path.relpath(Path(teacher_dir).resolve(), model.resolve())


def test_adapt_resume_is_exact(tmp_path, teacher_dir, targets_dir):
    full = Teacher.from_pretrained(adapt(_cfg(tmp_path / "a", teacher_dir, targets_dir, steps=4)))
    adapt(_cfg(tmp_path / "b", teacher_dir, targets_dir, steps=2))
    resumed = Teacher.from_pretrained(adapt(_cfg(tmp_path / "b", teacher_dir, targets_dir, steps=4, resume="latest")))
    for (k, v), (_, w) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(v, w), k


def test_paired_target_trains_the_pair_term_and_resumes_exactly(tmp_path, teacher_dir):
    """A --target with A/ and B/: the sources are projected into G_T once, G_target learns to render them as the
    real targets (loss/pair, adapt/pair_l1, pairs-*.png), and the latents travel in the state."""
    pairs = toy_pairs(tmp_path / "pairs", n=3)
    kw = dict(steps=4, log_every=1, pair_proj_steps=3)
    full = adapt(_cfg(tmp_path / "a", teacher_dir, pairs, **kw))
    rows = [json.loads(x) for x in (tmp_path / "a" / "adapt" / "stats.jsonl").read_text().splitlines()]
    assert all(r["loss/pair"] > 0 for r in rows if "loss/G_total" in r)
    assert [r["adapt/pair_l1"] > 0 for r in rows if "adapt/diversity" in r] == [True, True]
    assert all(0 <= r["adapt/diversity_ref"] and -1 <= r["adapt/correspondence_ref"] <= 1
               for r in rows if "adapt/diversity" in r)
    assert (tmp_path / "a" / "adapt" / "samples" / "pairs-00000004.png").is_file()
    assert json.loads((full / "config.json").read_text())["extra"]["w_pair"] == 1.0
    adapt(_cfg(tmp_path / "b", teacher_dir, pairs, **{**kw, "steps": 2}))
    resumed = adapt(_cfg(tmp_path / "b", teacher_dir, pairs, resume="latest", **kw))
    for (k, v), (_, w) in zip(Teacher.from_pretrained(full).state_dict().items(),
                              Teacher.from_pretrained(resumed).state_dict().items()):
        assert torch.equal(v, w), k


def test_resuming_an_unpaired_run_on_a_paired_target_is_one_clear_error(tmp_path, teacher_dir):
    from gandistill.errors import CheckpointError

    pairs = toy_pairs(tmp_path / "pairs", n=3)
    adapt(_cfg(tmp_path, teacher_dir, pairs / "B", steps=2))
    with pytest.raises(CheckpointError, match="holds no pair_sampler, pair_ws"):
        adapt(_cfg(tmp_path, teacher_dir, pairs, steps=3, resume="latest", pair_proj_steps=2))


def test_pair_term_fits_the_real_targets_and_is_off_at_weight_zero(tmp_path, teacher_dir):
    pairs = toy_pairs(tmp_path / "pairs", n=3)
    adapt(_cfg(tmp_path / "on", teacher_dir, pairs, steps=12, grid_every=4, w_adv=1e-3, w_cdc=0, lr_g=0.01,
               pair_proj_steps=3))
    fit = [json.loads(x)["adapt/pair_l1"] for x in (tmp_path / "on" / "adapt" / "stats.jsonl").read_text()
           .splitlines() if "adapt/pair_l1" in x]
    assert len(fit) == 3 and fit[-1] < 0.8 * fit[0]
    adapt(_cfg(tmp_path / "off", teacher_dir, pairs, w_pair=0.0))  # the B/ images are the targets, unpaired
    rows = (tmp_path / "off" / "adapt" / "stats.jsonl").read_text()
    assert "loss/pair" not in rows and "pair_l1" not in rows
    assert not list((tmp_path / "off" / "adapt" / "samples").glob("pairs-*"))


def test_self_pairs_project_the_targets_themselves(tmp_path, teacher_dir, targets_dir):
    adapt(_cfg(tmp_path, teacher_dir, targets_dir, self_pairs=True, pair_proj_steps=2, log_every=1))
    rows = (tmp_path / "adapt" / "stats.jsonl").read_text()
    assert "loss/pair" in rows and "adapt/pair_l1" in rows and "_ref" not in rows.replace("nn_target_ref", "")
    assert (tmp_path / "adapt" / "samples" / "pairs-00000002.png").is_file()


def test_zero_targets_is_an_error(tmp_path, teacher_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        adapt(_cfg(tmp_path, teacher_dir, tmp_path / "empty"))


def test_more_than_ten_targets_warns(tmp_path):
    write_images(tmp_path / "many", np.zeros((11, 16, 16, 3), np.uint8))
    with pytest.warns(UserWarning, match="≤ 10"):
        imgs, names = load_targets(tmp_path / "many", 16, 3)
    assert len(imgs) == 11


def test_size_and_channel_mismatch_are_reported_and_fixed(tmp_path):
    write_images(tmp_path / "grey", np.full((2, 24, 24), 200, np.uint8))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        imgs, _ = load_targets(tmp_path / "grey", 16, 3)
    text = " ".join(str(w.message) for w in rec)
    assert "resized" in text and "converted" in text
    assert imgs.shape == (2, 3, 16, 16)


def _weights(model_dir):
    return Teacher.from_pretrained(model_dir).G.state_dict()


def test_adapt_cdc_gradient_is_zero_at_weight_zero_through_the_loop(tmp_path, teacher_dir, targets_dir, monkeypatch):
    """adapt() trains with cdc.cdc_term (the tested function, called by the ``cdc`` term of
    losses.ADAPT_TERMS): at weight 0 a CDC with a huge gradient changes nothing; at weight > 0 the same
    replacement changes the result (it is on the trained path)."""
    import importlib

    losses_module = importlib.import_module("gandistill.gpd.losses")
    real = losses_module.cdc_term
    calls = []

    def loud_cdc(G_T, G, ws, weight, layers=None, target_feats=None):
        value = real(G_T, G, ws, weight, layers, target_feats=target_feats)
        calls.append(weight)
        # a term with a large gradient whatever the weight: at weight 0 the loop must not use it
        return value + 1e3 * sum(p.square().sum() for p in G.synthesis.parameters() if p.requires_grad)

    kw = dict(steps=3, cdc_anchor_every=2, grid_every=0)
    plain0 = _weights(adapt(_cfg(tmp_path / "p0", teacher_dir, targets_dir, w_cdc=0.0, **kw)))
    plain1 = _weights(adapt(_cfg(tmp_path / "p1", teacher_dir, targets_dir, w_cdc=1.0, **kw)))
    monkeypatch.setattr(losses_module, "cdc_term", loud_cdc)
    loud0 = _weights(adapt(_cfg(tmp_path / "l0", teacher_dir, targets_dir, w_cdc=0.0, **kw)))
    assert calls == [0.0] * 3  # called once per step, with the configured weight
    for k in plain0:
        assert torch.equal(plain0[k], loud0[k]), k
    loud1 = _weights(adapt(_cfg(tmp_path / "l1", teacher_dir, targets_dir, w_cdc=1.0, **kw)))
    assert any(not torch.equal(plain1[k], loud1[k]) for k in plain1)


def test_adapt_measures_every_grid_step(tmp_path, teacher_dir, targets_dir):
    adapt(_cfg(tmp_path, teacher_dir, targets_dir, steps=4, grid_every=2, measure_n=6))
    rows = [json.loads(x) for x in (tmp_path / "adapt" / "stats.jsonl").read_text().splitlines()]
    measured = [r for r in rows if "adapt/diversity" in r]
    assert [r["step"] for r in measured] == [2, 4]
    for r in measured:
        assert 0 <= r["adapt/diversity"] and -1 <= r["adapt/correspondence"] <= 1
        assert 0 <= r["adapt/nn_target_min"] <= r["adapt/nn_target_mean"] and r["adapt/nn_target_ref"] > 0
    assert (tmp_path / "adapt" / "samples" / "compare-00000004.png").is_file()
    assert (tmp_path / "adapt" / "samples" / "compare-00000000.png").is_file()


def test_freeze_presets(tmp_path, teacher_dir, targets_dir):
    from gandistill.gpd.adapt import resolve_freeze

    t = Teacher.from_pretrained(teacher_dir)
    cfg = _cfg(tmp_path, teacher_dir, targets_dir, freeze="both", freeze_g=[2])
    blocks, depth = resolve_freeze(t.G, t.D, cfg)
    assert blocks == [0, 1, 2]  # 4×4 and 8×8 (coarse) plus the explicit block
    assert depth == (len(t.D.blocks) + 1) // 2
    model = adapt(_cfg(tmp_path, teacher_dir, targets_dir, freeze="freezed"))
    d_src, d_new = t.D, Teacher.from_pretrained(model).D
    assert torch.equal(d_src.fromrgb.weight, d_new.fromrgb.weight)
    assert not torch.equal(d_src.blocks[-1].conv1.weight, d_new.blocks[-1].conv1.weight)


def test_noise_strengths_stay_the_teachers_unless_asked(tmp_path, teacher_dir, targets_dir):
    """--freeze-noise (default): G_target cannot draw texture by amplifying its fixed noise maps."""
    t = Teacher.from_pretrained(teacher_dir)

    def strengths(G):
        return {n: p.detach().clone() for n, p in G.synthesis.named_parameters() if n.endswith("noise_strength")}

    src = strengths(t.G)
    assert src
    frozen = strengths(Teacher.from_pretrained(adapt(_cfg(tmp_path / "a", teacher_dir, targets_dir))).G)
    assert all(torch.equal(src[n], frozen[n]) for n in src)
    trained = strengths(Teacher.from_pretrained(adapt(_cfg(tmp_path / "b", teacher_dir, targets_dir,
                                                           freeze_noise=False))).G)
    assert any(not torch.equal(src[n], trained[n]) for n in src)


def test_adapt_weights_follow_the_term_protocol(tmp_path, teacher_dir, targets_dir):
    """G's loss is combine(ADAPT_TERMS) with w_adv and w_cdc: each term is logged under loss/<name>;
    --cdc-weight still sets w_cdc; both weights 0 is refused."""
    from gandistill.cli.main import build_parser
    from gandistill.options import from_args

    adapt(_cfg(tmp_path, teacher_dir, targets_dir, steps=2, log_every=1, w_adv=0.5, grid_every=0))
    rows = [json.loads(x) for x in (tmp_path / "adapt" / "stats.jsonl").read_text().splitlines()]
    for r in rows:
        assert r["loss/G_total"] == pytest.approx(0.5 * r["loss/adv"] + 1000 * r["loss/cdc"], rel=1e-5)
    assert from_args(AdaptConfig, build_parser().parse_args(["gpd", "adapt", "--cdc-weight", "5"])).w_cdc == 5.0
    with pytest.raises(ValueError, match="both 0"):
        AdaptConfig(w_adv=0.0, w_cdc=0.0)


def test_adapt_batch_gpu_below_two_is_refused(tmp_path, teacher_dir, targets_dir):
    with pytest.raises(GandistillError, match="CDC compares the latents"):
        adapt(_cfg(tmp_path, teacher_dir, targets_dir, batch=4, batch_gpu=1))
    adapt(_cfg(tmp_path, teacher_dir, targets_dir, batch=4, batch_gpu=2, steps=1, grid_every=0))  # two rounds
