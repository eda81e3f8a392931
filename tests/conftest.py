"""Shared pytest set-up: deterministic CPU threads and tiny configs."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("GANDISTILL_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))
# Tests use tiny networks, where a second intra-op thread only adds synchronisation; on a loaded
# 2-core machine two threads spinning against other jobs made small convolutions ~100× slower.
torch.set_num_threads(1)


@pytest.fixture
def tiny_stylegan_config():
    from gandistill.teacher.presets import preset_model

    return preset_model("tiny")
