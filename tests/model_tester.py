"""One shared helper that gives every model save/load round-trip, determinism and shape tests.

A test module subclasses ``ModelTesterMixin`` and provides ``make_model()`` (tiny config) and
``make_inputs()`` (a tuple of positional args); ``output_shape`` is checked when given.
"""
from __future__ import annotations

import json

import pytest
import torch


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return _first_tensor(out[0])
    if isinstance(out, dict):
        return _first_tensor(next(iter(out.values())))
    raise TypeError(f"cannot find a tensor in {type(out)}")


class ModelTesterMixin:
    output_shape: tuple[int, ...] | None = None
    forward_kwargs: dict = {}

    def make_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def make_inputs(self) -> tuple:
        raise NotImplementedError

    def run(self, model, inputs):
        torch.manual_seed(1234)  # forward passes that draw noise use the same draws
        with torch.no_grad():
            return _first_tensor(model(*inputs, **self.forward_kwargs))

    def test_output_shape_and_finite(self):
        torch.manual_seed(0)
        model = self.make_model().eval()
        out = self.run(model, self.make_inputs())
        if self.output_shape is not None:
            assert tuple(out.shape) == tuple(self.output_shape)
        assert torch.isfinite(out).all()

    def test_deterministic(self):
        torch.manual_seed(0)
        model = self.make_model().eval()
        inputs = self.make_inputs()
        assert torch.equal(self.run(model, inputs), self.run(model, inputs))

    def test_same_seed_same_init(self):
        torch.manual_seed(0)
        a = self.make_model()
        torch.manual_seed(0)
        b = self.make_model()
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert ka == kb and torch.equal(va, vb), ka

    def test_save_load_roundtrip(self, tmp_path):
        torch.manual_seed(0)
        model = self.make_model().eval()
        inputs = self.make_inputs()
        model.save_pretrained(tmp_path / "m", parents={"teacher": "abc"})
        meta = json.loads((tmp_path / "m" / "config.json").read_text())
        assert meta["class"] == type(model).__name__ and meta["parents"] == {"teacher": "abc"}
        torch.manual_seed(99)  # a different init must be fully overwritten by the load
        loaded = type(model).from_pretrained(tmp_path / "m").eval()
        assert torch.equal(self.run(model, inputs), self.run(loaded, inputs))
        assert loaded.source_hash == meta["sha256"]

    def test_truncated_weights_give_clear_error(self, tmp_path):
        from gandistill.errors import CheckpointError

        model = self.make_model()
        model.save_pretrained(tmp_path / "m")
        weights = tmp_path / "m" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
        with pytest.raises(CheckpointError, match="model.safetensors"):
            type(model).from_pretrained(tmp_path / "m")

    def test_backward_reaches_all_parameters(self):
        torch.manual_seed(0)
        model = self.make_model().train()
        out = _first_tensor(model(*self.make_inputs(), **self.forward_kwargs))
        out.float().square().mean().backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, f"parameters without gradient: {missing[:5]}"
