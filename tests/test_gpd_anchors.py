"""GPD projection, anchors and the paired augmentation stream."""
from __future__ import annotations

import re
import warnings

import pytest
import torch
from gpd_support import make_teacher, toy_pairs

from gandistill.data import PairedImageDataset
from gandistill.gpd import (AdaptConfig, Anchors, AnchorsConfig, PairsConfig, PairStream, ProjectConfig, adapt,
                            compute_anchors, dump_pairs, load_generators, project)
from gandistill.teacher import Teacher




@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpd")
    teacher = make_teacher(root / "teacher")
    pairs = toy_pairs(root / "pairs", n=3)
    adapted = adapt(AdaptConfig(out=str(root / "adapt"), teacher=str(teacher), target=str(pairs / "B"), steps=2,
                                batch=2, progress=False, device="cpu", grid_every=0))
    return root, teacher, pairs, adapted


def test_projection_recovers_teacher_image(setup):
    _, teacher, _, _ = setup
    t = Teacher.from_pretrained(teacher)
    ws = t.G.mapping(torch.randn(2, 16, generator=torch.Generator().manual_seed(5)))
    with torch.no_grad():
        img = t.G.synthesis(ws, noise_mode="const")
    _, q = project(t.G, img, ProjectConfig(steps=300), D=t.D)
    assert q["mean_l1"] < 0.03 and q["mean_psnr"] > 28, q


def test_projection_rejects_wrong_shape(setup):
    from gandistill.errors import GandistillError

    t = Teacher.from_pretrained(setup[1])
    with pytest.raises(GandistillError, match="16, 16"):
        project(t.G, torch.zeros(1, 3, 32, 32), ProjectConfig(steps=1), D=t.D)


@pytest.mark.parametrize("mode", ["paired", "target"])
def test_anchors_file_roundtrip(setup, mode):
    root, _, pairs, adapted = setup
    data = pairs if mode == "paired" else pairs / "B"
    path = compute_anchors(AnchorsConfig(adapted=str(adapted), data=str(data), steps=5, device="cpu",
                                         out=str(root / f"anchors-{mode}.safetensors")), progress=False)
    a = Anchors.load(path)
    assert a.mode == mode and len(a) == 3 and a.ws.shape == (3, 6, 16)
    assert a.x.shape == a.y.shape == (3, 3, 16, 16)
    assert path.with_suffix(".json").is_file() and path.with_suffix(".png").is_file()
    from PIL import Image

    with Image.open(path.with_suffix(".png")) as im:  # rows and columns are labelled: margins beyond the tiles
        assert im.width > (3 * 17 + 1) * 4 + 40 and im.height > (4 * 17 + 1) * 4 + 8
    assert "mean_psnr" in a.quality
    if mode == "target":  # the source side is the teacher's rendering of the anchor
        G_T = Teacher.from_pretrained(setup[1]).G
        with torch.no_grad():
            assert torch.allclose(a.x, G_T.synthesis(a.ws, noise_mode="const"), atol=1e-5)


def test_pair_stream_is_seeded_resumable_and_aligned(setup):
    _, _, _, adapted = setup
    src, tgt = load_generators(adapted)
    anchor_ws = src.G.mapping(torch.randn(3, 16))
    cfg = PairsConfig(p_near=0.5, sigma=0.1, seed=7)
    s1 = PairStream(src.G, tgt.G, anchor_ws, cfg, batch=6)
    s2 = PairStream(src.G, tgt.G, anchor_ws, cfg, batch=6)
    a = next(s1)
    state = s1.state_dict()
    b = next(s1)
    assert torch.equal(a["x"], next(s2)["x"])
    s2.load_state_dict(state)
    assert torch.equal(b["ws"], next(s2)["ws"])
    with torch.no_grad():
        assert torch.allclose(b["y"], tgt.G.synthesis(b["ws"], noise_mode="const"))
    near = b["anchor"] >= 0
    assert near.any() and (~near).any()
    d = (b["ws"][near] - anchor_ws[b["anchor"][near]]).norm(dim=-1)
    assert float(d.max()) < 0.1 * s1.w_std * 16 ** 0.5 * 3  # within a few σ of its anchor
    everything_free = next(PairStream(src.G, tgt.G, anchor_ws, PairsConfig(p_near=0.0), batch=4))
    assert (everything_free["anchor"] == -1).all()


def test_pair_stream_ranks_draw_their_own_pairs_from_one_shared_state(setup):
    """Under torchrun each rank draws other pairs, and rank 0's saved state continues every rank exactly."""
    src, tgt = load_generators(setup[3])
    anchor_ws = src.G.mapping(torch.randn(3, 16))
    cfg = PairsConfig(seed=3)
    r0, r1 = (PairStream(src.G, tgt.G, anchor_ws, cfg, batch=4, rank=r) for r in (0, 1))
    assert not torch.equal(next(r0)["ws"], next(r1)["ws"])
    state = r0.state_dict()  # what a 2-process run saves (rank 0 only)
    expected = next(r1)["ws"]
    resumed = PairStream(src.G, tgt.G, anchor_ws, cfg, batch=4, rank=1)
    resumed.load_state_dict(state)
    assert torch.equal(next(resumed)["ws"], expected)


def test_dump_pairs_writes_paired_dataset(setup, tmp_path):
    _, _, _, adapted = setup
    src, tgt = load_generators(adapted)
    out = dump_pairs(PairStream(src.G, tgt.G, None, batch=3), 5, tmp_path / "pairs", progress=False)
    ds = PairedImageDataset(out, resolution=16)
    assert len(ds) == 5 and ds.pairs[0][0].stem == ds.pairs[0][1].stem


def test_wrong_teacher_for_adapted_model_is_refused(setup, tmp_path):
    from gandistill.errors import CheckpointError

    other = make_teacher(tmp_path / "other", seed=1)
    with pytest.raises(CheckpointError):
        load_generators(setup[3], str(other))


def test_anchors_and_route_take_no_progress(setup, capfd):
    from gandistill.cli.main import main

    root, _, pairs, adapted = setup
    out = root / "cli-anchors.safetensors"
    common = ["--steps", "3", "--device", "cpu"]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        assert main(["gpd", "anchors", "--adapted", str(adapted), "--data", str(pairs), "--out", str(out),
                     "--no-progress", *common]) == 0
        assert main(["gpd", "route", "--adapted", str(adapted), "--input", str(pairs / "A"),
                     "--output", str(root / "route"), "--no-progress", *common]) == 0
    err = capfd.readouterr().err
    assert not re.search(r"\d+%\|", err), err  # no tqdm bar in what goes to a log file
    shown = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in rec]
    assert any(line.startswith("warning: projection is poor") and line.count("\n") == 1 for line in shown), shown
    assert out.is_file() and len(list((root / "route").glob("*.png"))) == 3
    main(["gpd", "route", "--adapted", str(adapted), "--input", str(pairs / "A"), "--output", str(root / "r2"),
          *common])
    assert re.search(r"\d+%\|", capfd.readouterr().err)  # the bar is on by default


@pytest.mark.filterwarnings("ignore:projection is poor")
def test_projection_loss_is_the_weighted_sum_of_its_terms(setup):
    """project() optimises combine(PROJECTION_TERMS) with the w_<term> weights: a term at weight 0 is not
    computed (the distance is then called once, for the quality report only); the total is the weighted sum."""
    from gandistill.gpd import PROJECTION_TERMS, ProjectionBatch
    from gandistill.train.terms import combine, weights_of

    t = Teacher.from_pretrained(setup[1])
    img = torch.rand(2, 3, 16, 16) * 2 - 1

    calls = []

    def counted(a, b):
        calls.append(len(a))
        return (a - b).abs().flatten(1).mean(1)
    ws, _ = project(t.G, img, ProjectConfig(steps=3, w_feat=0.0), distance=counted)
    assert ws.shape == (2, 6, 16) and calls == [2]
    project(t.G, img, ProjectConfig(steps=3), distance=counted)
    assert calls == [2] + [2] * 4  # three optimisation steps and the report
    w = torch.randn(2, 6, 16)
    b = ProjectionBatch(img=img + 0.5, target=img, w=w, w_std=2.0, distance=lambda a, c: (a - c).abs().flatten(1).sum(1))
    loss, stats = combine(PROJECTION_TERMS, b, weights_of(ProjectConfig(w_l2=1.0, w_feat=3.0, w_wplus=0.5),
                                                            PROJECTION_TERMS))
    spread = (w - w.mean(1, keepdim=True)).square().sum(-1).mean(1).sum() / 4.0
    assert stats["loss/l2"] == pytest.approx(2 * 0.25) and stats["loss/feat"] == pytest.approx(2 * 768 * 0.5)
    assert float(loss) == pytest.approx(0.5 + 3 * 768 + 0.5 * float(spread), rel=1e-6)
    with pytest.raises(ValueError, match="not all 0"):
        ProjectConfig(w_l2=0.0, w_feat=0.0, w_wplus=0.0)


def test_renamed_projection_weight_flags_keep_their_old_spelling():
    from gandistill.cli.main import build_parser
    from gandistill.options import from_args

    p = build_parser()
    old = ["--l2-weight", "2", "--feat-weight", "0.5", "--wplus-reg", "0"]
    for cmd, cls in ((["gpd", "anchors", "--adapted", "a", "--data", "d"], AnchorsConfig),
                     (["gpd", "route", "--adapted", "a", "--input", "i", "--output", "o"], ProjectConfig)):
        cfg = from_args(cls, p.parse_args(cmd + old))
        assert (cfg.w_l2, cfg.w_feat, cfg.w_wplus) == (2.0, 0.5, 0.0)
        assert from_args(cls, p.parse_args(cmd + ["--w-l2", "3"])).w_l2 == 3.0
