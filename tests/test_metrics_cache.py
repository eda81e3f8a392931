"""Reference-statistics cache: hit on the second call, invalidated by a changed file or protocol."""
from __future__ import annotations

import pytest
import torch

from gandistill.metrics import stats_cache
from gandistill.metrics.images import list_images
from gandistill.metrics.stats_cache import cached_features
from metrics_support import save_folder, synthetic_images

PROTOCOL = {"extractor": "test", "resize": "none", "num_images": 4}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANDISTILL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "stats"


def _counting():
    calls = []

    def compute():
        calls.append(1)
        return torch.rand(4, 8)

    return calls, compute


def test_second_call_hits_and_changed_file_invalidates(cache, tmp_path):
    save_folder(synthetic_images(4, size=16), tmp_path / "ref")
    files = list_images(tmp_path / "ref")
    calls, compute = _counting()
    first, hit1 = cached_features(files, PROTOCOL, compute)
    second, hit2 = cached_features(files, PROTOCOL, compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert torch.equal(first, second)
    assert len(list(cache.glob("*.safetensors"))) == 1
    assert not list(cache.glob(".*.tmp"))  # atomic write left no temp file

    save_folder(synthetic_images(1, size=16, seed=99), tmp_path / "ref", names=["0002"])  # overwrite one image
    _, hit3 = cached_features(list_images(tmp_path / "ref"), PROTOCOL, compute)
    assert not hit3 and len(calls) == 2


def test_protocol_change_and_moved_folder(cache, tmp_path):
    save_folder(synthetic_images(4, size=16), tmp_path / "a")
    calls, compute = _counting()
    cached_features(list_images(tmp_path / "a"), PROTOCOL, compute)
    _, hit = cached_features(list_images(tmp_path / "a"), dict(PROTOCOL, resize="other"), compute)
    assert not hit and len(calls) == 2
    (tmp_path / "a").rename(tmp_path / "b")  # same bytes elsewhere: still a hit
    _, hit = cached_features(list_images(tmp_path / "b"), PROTOCOL, compute)
    assert hit and len(calls) == 2


def test_corrupt_entry_is_recomputed(cache, tmp_path):
    save_folder(synthetic_images(2, size=16), tmp_path / "ref")
    files = list_images(tmp_path / "ref")
    calls, compute = _counting()
    cached_features(files, PROTOCOL, compute)
    entry = next(cache.glob("*.safetensors"))
    entry.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable stats cache entry"):
        _, hit = cached_features(files, PROTOCOL, compute)
    assert not hit and len(calls) == 2


def test_cache_dir_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("GANDISTILL_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert stats_cache.stats_dir() == tmp_path / ".cache" / "gandistill" / "stats"
