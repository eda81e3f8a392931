"""The loss-term protocol: weights from ``w_<term>`` fields, one combiner."""
from dataclasses import dataclass

import pytest
import torch

from gandistill.train.terms import combine, weights_of


@dataclass
class _Cfg:
    w_a: float = 2.0
    w_b: float = 0.0
    w_c: float | None = None


def test_weights_of_reads_w_fields_and_defaults_missing_to_zero():
    assert weights_of(_Cfg(), ["a", "b", "c", "d"]) == {"a": 2.0, "b": 0.0, "c": 0.0, "d": 0.0}


def test_combine_sums_weighted_active_terms_and_skips_zero_weights():
    called = []

    def a(batch):
        called.append("a")
        return batch.sum()

    def b(batch):
        called.append("b")
        return batch.mean()

    x = torch.tensor([1.0, 3.0], requires_grad=True)
    loss, stats = combine({"a": a, "b": b}, x, {"a": 2.0, "b": 0.0})
    assert called == ["a"]
    assert loss.item() == pytest.approx(8.0)
    assert stats == {"loss/a": 4.0, "loss/G_total": 8.0}
    loss.backward()
    assert torch.equal(x.grad, torch.tensor([2.0, 2.0]))


def test_combine_with_no_active_term_is_zero_and_unknown_names_fail():
    loss, stats = combine({}, None, {})
    assert loss.item() == 0 and stats == {"loss/G_total": 0.0}
    with pytest.raises(KeyError, match="no loss term named 'x'"):
        combine({}, None, {"x": 1.0})
