"""GPD adaptation measures (diversity, correspondence, memorisation) and CDC's anchor-region discrimination."""
from __future__ import annotations

import math

import pytest
import torch

from gandistill.gpd import AnchorRegion, TwoLevelDiscriminator, correspondence, diversity_ratio, memorisation
from gandistill.gpd.adapt_metrics import adaptation_measures, edge_map, mean_pairwise_distance, pair_references
from gandistill.teacher import Teacher
from gandistill.utils.images import labelled_grid


def _faces(n: int, seed: int = 0) -> torch.Tensor:
    """Distinct structured images: a bright square at a different place in each."""
    imgs = -torch.ones(n, 3, 16, 16)
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        y, x = torch.randint(0, 10, (2,), generator=g).tolist()
        imgs[i, :, y:y + 5, x:x + 5] = 1.0
    return imgs


def _flat(img: torch.Tensor) -> torch.Tensor:
    return img.flatten(1)


def test_identical_generators_keep_full_diversity_and_correspondence():
    src = _faces(6)
    m, _ = adaptation_measures(src, src.clone(), _faces(3, seed=1), _flat)
    assert m["adapt/correspondence"] == pytest.approx(1.0, abs=1e-9)
    assert m["adapt/diversity"] == pytest.approx(1.0, abs=1e-12)


def test_constant_generator_has_zero_diversity_and_low_correspondence():
    src = _faces(6)
    const = torch.zeros_like(src)  # the same grey image for every latent
    assert diversity_ratio(_flat(const), _flat(src)) == 0.0
    assert correspondence(src, const) < 0.2
    # a restyled copy with the same outlines (inverted, darker) still corresponds far better
    assert correspondence(src, -0.5 * src) > 0.9


def test_pair_references_score_a_perfect_translator():
    """Real pairs give the measures' references: a translation that halves the contrast keeps the outlines
    (correspondence 1) and halves the spread (diversity 0.5); constant targets have no diversity."""
    src = _faces(6)
    ref = pair_references(src, 0.5 * src, _flat)
    assert ref["adapt/diversity_ref"] == pytest.approx(0.5, abs=1e-6)
    assert ref["adapt/correspondence_ref"] == pytest.approx(1.0, abs=1e-6)
    assert pair_references(src, torch.zeros_like(src), _flat)["adapt/diversity_ref"] == 0.0


def test_edge_map_is_scale_free_and_zero_on_flat_images():
    img = _faces(2)
    assert torch.allclose(edge_map(img), edge_map(0.3 * img))
    assert float(edge_map(torch.full((1, 3, 8, 8), 0.7)).abs().max()) == 0.0


def test_memorisation_reports_copies():
    targets = _faces(3, seed=2)
    copies = targets[[0, 1, 1, 2]]
    m = memorisation(_flat(copies), _flat(targets))
    assert m["nn_target_min"] == 0.0 and m["nn_target_mean"] == 0.0
    assert m["nn_target_ref"] > 0  # the targets themselves are apart
    far = memorisation(_flat(_faces(4, seed=9) * 0.5), _flat(targets))
    assert far["nn_target_min"] > 0


def test_mean_pairwise_distance_hand_computed():
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    # ordered pairs: (0,1)=5 (0,2)=0 (1,0)=5 (1,2)=5 (2,0)=0 (2,1)=5 → 20 / 6
    assert mean_pairwise_distance(f) == pytest.approx(20 / 6)


def test_anchor_region_contains_by_distance():
    region = AnchorRegion.random(3, 64, sigma=0.1, seed=0)
    torch.manual_seed(0)
    near = region.sample(50)
    free = torch.randn(50, 64)
    assert region.contains(near).all() and not region.contains(free).any()
    assert region.radius == pytest.approx(2 * 0.1 * 8)
    edge = region.points[:1] + torch.full((1, 64), region.radius / 8 * 0.99)  # just inside the ball
    assert bool(region.contains(edge)[0])
    assert not bool(region.contains(region.points[:1] + region.radius / 8 * 1.01)[0])


def test_two_level_discriminator_switches_mode_per_sample(tiny_stylegan_config):
    torch.manual_seed(0)
    t = Teacher(tiny_stylegan_config)
    disc = TwoLevelDiscriminator(t.D, patch_res=8)
    with torch.no_grad():
        disc.patch_head.bias.fill_(3.0)  # make the two heads clearly different
    img = torch.randn(4, 3, 16, 16)
    region = AnchorRegion.random(2, 16, sigma=0.1, seed=1)
    z = torch.cat([region.sample(2), torch.randn(2, 16)])
    mode = region.contains(z)
    assert mode.tolist() == [True, True, False, False]
    with torch.no_grad():
        out = disc(img, mode)
        full = t.D(img)
        patches = disc.patch_head(t.D.trunk(img)[8]).flatten(1)
    assert out.shape == (4, 64)
    assert torch.allclose(out[:2], full[:2].expand(2, 64))          # image-level near the anchors
    assert torch.allclose(out[2:], patches[2:])                     # patch-level elsewhere
    assert torch.equal(disc(img), t.D(img))                        # no mode given: the plain D


def test_labelled_grid_has_room_for_labels_and_title():
    rows = [torch.zeros(3, 3, 8, 8), torch.ones(2, 3, 8, 8)]
    plain = labelled_grid(rows, ["", ""])
    pic = labelled_grid(rows, ["G_T(w)", "nearest target"], title="step 10")
    assert pic.shape[1] > plain.shape[1] and pic.shape[0] > plain.shape[0] and pic.dtype.name == "uint8"
    with pytest.raises(ValueError):
        labelled_grid(rows, ["one"])
    assert math.isfinite(float(pic.mean()))
