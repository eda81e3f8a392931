"""Improved precision/recall (Kynkäänniemi et al. 2019) on hand-made feature sets."""
from __future__ import annotations

import pytest
import torch

from gandistill.errors import GandistillError
from gandistill.metrics.precision_recall import precision_recall


def test_same_distribution_scores_high_and_far_away_scores_zero():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 8, generator=g)
    same = torch.randn(400, 8, generator=g)
    pr = precision_recall(real, same)
    assert pr.precision > 0.8 and pr.recall > 0.8
    far = precision_recall(real, same + 100)
    assert far.precision == 0 and far.recall == 0


def test_mode_collapse_keeps_precision_and_loses_recall():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(400, 4, generator=g)
    collapsed = real[:20].repeat(20, 1) + 0.01 * torch.randn(400, 4, generator=g)  # 20 modes only
    pr = precision_recall(real, collapsed)
    assert pr.precision > 0.95 and pr.recall < 0.3


def test_too_few_points_is_a_clear_error():
    with pytest.raises(GandistillError, match="more than 3"):
        precision_recall(torch.randn(3, 4), torch.randn(10, 4))
