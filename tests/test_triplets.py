"""Style-mixed triplets: roles of x1/x2/y, prefix sharing, seeded stream, CLI previews."""
from __future__ import annotations

import pytest
import torch
from kdit_support import tiny_teacher  # noqa: F401  (fixtures)

from gandistill.kdit import TripletSampler, default_k_range, mix_ws, synthesize_triplets


@pytest.fixture(scope="module")
def G():
    return tiny_teacher().G


def _latents(G, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return G.mapping(torch.randn(n, G.z_dim, generator=g)), G.mapping(torch.randn(n, G.z_dim, generator=g))


@pytest.mark.parametrize("share", [True, False])
def test_roles_at_extreme_crossovers(G, share):
    w1, w2 = _latents(G)
    n = w1.shape[0]
    t = synthesize_triplets(G, w1, w2, torch.full((n,), G.num_ws), share_prefix=share)
    assert torch.equal(t.y, t.x1)
    t = synthesize_triplets(G, w1, w2, torch.zeros(n, dtype=torch.long), share_prefix=share)
    assert torch.equal(t.y, t.x2)
    assert torch.equal(t.x1, G.synthesis(w1, noise_mode="const"))
    assert torch.equal(t.x2, G.synthesis(w2, noise_mode="const"))


@pytest.mark.parametrize("k", range(0, 7))
def test_prefix_sharing_gives_the_same_pixels_and_features(G, k):
    w1, w2 = _latents(G)
    ks = torch.full((4,), k)
    a = synthesize_triplets(G, w1, w2, ks, share_prefix=True, return_features=True)
    b = synthesize_triplets(G, w1, w2, ks, share_prefix=False, return_features=True)
    ref = G.synthesis(mix_ws(w1, w2, k), noise_mode="const")
    assert torch.equal(a.y, b.y) and torch.equal(a.y, ref)
    for fa, fb in zip(a.feats_y, b.feats_y):
        assert torch.equal(fa, fb)


def test_per_sample_crossover_is_regrouped_in_place(G):
    w1, w2 = _latents(G, n=6)
    ks = torch.tensor([5, 0, 3, 6, 4, 3])
    a = synthesize_triplets(G, w1, w2, ks, return_features=True)
    for i, k in enumerate(ks.tolist()):
        one = G.synthesis(mix_ws(w1[i:i + 1], w2[i:i + 1], k), noise_mode="const")
        torch.testing.assert_close(a.y[i:i + 1], one, atol=1e-5, rtol=0)


def test_sampler_is_seeded_in_range_and_resumable(G):
    assert default_k_range(G.num_ws) == (3, 4)
    s1 = TripletSampler(G, seed=3, batch=5)
    t1 = next(s1)
    assert t1.x1.shape == (5, 3, 16, 16) and t1.w1.shape == (5, G.num_ws, G.w_dim)
    assert ((t1.k >= 3) & (t1.k <= 4)).all()
    state = s1.state_dict()
    t2 = next(s1)
    s2 = TripletSampler(G, seed=3, batch=5)
    assert torch.equal(next(s2).y, t1.y)
    s2.load_state_dict(state)
    assert torch.equal(next(s2).y, t2.y)
    x1, x2, y, k, w1, w2 = TripletSampler(G, k_range=(2, 2), psi=0.0, batch=2).sample(2)
    assert (k == 2).all()
    assert torch.equal(w1, G.mapping.w_avg.expand_as(w1)) and torch.equal(x1, x2)
    torch.testing.assert_close(y, x1, atol=1e-5, rtol=0)  # y ran as a smaller batch: last-bit differences
    with pytest.raises(ValueError, match="crossover range"):
        TripletSampler(G, k_range=(2, 99))


def test_sharded_sampler_splits_one_stream_over_processes(G):
    whole = TripletSampler(G, seed=5, batch=4)
    shards = [TripletSampler(G, seed=5, batch=2, rank=r, world_size=2) for r in (0, 1)]
    for _ in range(2):  # the shards stay in step with the unsharded stream (one state resumes them all)
        t = next(whole)
        parts = [next(s) for s in shards]
        assert torch.equal(torch.cat([p.k for p in parts]), t.k)
        for key in ("w1", "w2", "y"):  # rendered in smaller batches: last-bit differences
            torch.testing.assert_close(torch.cat([getattr(p, key) for p in parts]), getattr(t, key), atol=1e-5, rtol=0)
        assert torch.equal(shards[0].state_dict()["rng"], whole.state_dict()["rng"])
    with pytest.raises(ValueError, match="rank must be in 0..1"):
        TripletSampler(G, rank=2, world_size=2)


def test_cli_writes_previews(tmp_path, capsys):
    from gandistill.cli.main import main

    tiny_teacher().save_pretrained(tmp_path / "teacher")
    assert main(["triplets", "--teacher", str(tmp_path / "teacher"), "--out", str(tmp_path / "t"), "--n", "3",
                 "--preview-k", "2,5", "--device", "cpu"]) == 0
    for name in ("preview.png", "preview-k2.png", "preview-k5.png", "triplets.safetensors", "y/000002.png"):
        assert (tmp_path / "t" / name).is_file(), name
    from PIL import Image

    w, h = Image.open(tmp_path / "t" / "preview.png").size  # 3 x 3 tiles of 16 px at scale 2, plus label margins
    assert w > 2 * (3 * 17 + 1) + 20 and h > 2 * (3 * 17 + 1) + 8
    assert main(["triplets", "--teacher", str(tmp_path / "teacher"), "--out", str(tmp_path / "u"), "--k", "9",
                 "--device", "cpu"]) == 2
    assert "num_ws=6" in capsys.readouterr().err


def test_speed_benchmark_runs_on_a_tiny_teacher(G):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "triplet_speed.py"
    spec = importlib.util.spec_from_file_location("triplet_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.bench(G, batch=2, repeats=1)
    assert {"default_range", "k=0", "k=6", "default_range_no_x2"} <= set(r["cases"])
    assert mod.ideal_passes(G, G.num_ws) == 2.0 and mod.ideal_passes(G, 0) == 3.0
    assert 2.0 < mod.ideal_passes(G, 3) < 3.0 and mod.ideal_passes(G, 3, render_x2=False) < 2.0
