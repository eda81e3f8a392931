"""LPIPS: torchvision-format loading round trip with random weights, missing-weights messages."""
from __future__ import annotations

import pytest
import torch

from gandistill.errors import GandistillError
from gandistill.metrics.diversity import pairwise_diversity
from gandistill.metrics.lpips import LPIPS, load_lpips, to_lpips_input, trunk_weights_path
from gandistill.metrics.lpips_trunks import TORCHVISION_FILES
from metrics_support import write_random_lpips_weights


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANDISTILL_LPIPS_WEIGHTS", raising=False)
    return tmp_path / "torch"


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_round_trip_and_distance(net, torch_home, tmp_path):
    trunk_sd, head_sd, head_path = write_random_lpips_weights(net, tmp_path)
    assert trunk_weights_path(net) == torch_home / "hub" / "checkpoints" / TORCHVISION_FILES[net]
    model = load_lpips(net, head_path)
    for k, v in model.trunk.state_dict().items():
        assert torch.equal(v, trunk_sd[k])
    for i, lin in enumerate(model.lins):
        assert torch.equal(lin.weight, head_sd[f"lin{i}.model.1.weight"])
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (2, 3, 64, 64), generator=g, dtype=torch.uint8)
    b = torch.randint(0, 256, (2, 3, 64, 64), generator=g, dtype=torch.uint8)
    with torch.no_grad():
        same = model(to_lpips_input(a), to_lpips_input(a))
        diff = model(to_lpips_input(a), to_lpips_input(b))
    assert same.shape == (2,) and torch.all(same.abs() < 1e-6)
    assert torch.all(diff > 0)
    assert pairwise_diversity(torch.cat([a[:1], b[:1]]), "lpips", model) == pytest.approx(float(diff[0]), rel=1e-5)


def test_head_found_through_env_folder(torch_home, tmp_path, monkeypatch):
    _, _, head_path = write_random_lpips_weights("alex", tmp_path)
    monkeypatch.setenv("GANDISTILL_LPIPS_WEIGHTS", str(tmp_path))
    assert isinstance(load_lpips("alex"), LPIPS)


def test_missing_trunk_says_which_file_where(torch_home):
    with pytest.raises(GandistillError) as err:
        load_lpips("alex")
    msg = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in msg and str(torch_home / "hub" / "checkpoints") in msg


def test_missing_head_says_which_file_where(torch_home, tmp_path):
    write_random_lpips_weights("vgg", tmp_path)
    with pytest.raises(GandistillError) as err:
        load_lpips("vgg")
    msg = str(err.value)
    assert "weights/v0.1/vgg.pth" in msg and str(tmp_path / "cache" / "lpips" / "v0.1" / "vgg.pth") in msg


def test_wrong_head_file_is_a_checkpoint_error(torch_home, tmp_path):
    write_random_lpips_weights("alex", tmp_path)
    bad = tmp_path / "bad.pth"
    torch.save({"something": torch.zeros(1)}, bad)
    with pytest.raises(GandistillError, match="lin0.model.1.weight"):
        load_lpips("alex", bad)


def test_too_small_images_are_a_user_error():
    with pytest.raises(GandistillError, match="at least 31x31"):
        LPIPS("alex")(torch.zeros(1, 3, 24, 24), torch.zeros(1, 3, 24, 24))
    assert LPIPS("vgg")(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)).shape == (1,)
