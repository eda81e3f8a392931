"""Named teacher presets: every preset resolves, flags override it, the CLI records what it resolved."""
from __future__ import annotations

import json

import pytest

from gandistill.cli.main import main as cli
from gandistill.errors import GandistillError
from gandistill.teacher.presets import PRESETS, apply_preset, preset_model


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_resolves_to_a_valid_config(name):
    cfg = apply_preset(name)
    for key, value in PRESETS[name].model.items():
        assert getattr(cfg.model, key) == value
    for key, value in PRESETS[name].train.items():
        assert getattr(cfg, key) == value


def test_ffhq_presets_have_the_public_checkpoint_shapes():
    m = preset_model("ffhq256")
    assert (m.z_dim, m.w_dim, m.mapping_layers, m.num_ws) == (512, 512, 8, 14)
    assert [m.ch(r) for r in (4, 32, 64, 128, 256)] == [512, 512, 512, 256, 128]  # config-f
    ada = preset_model("ffhq256-ada")
    assert [ada.ch(r) for r in (32, 64, 256)] == [512, 256, 64]  # NVlabs paper256
    assert preset_model("ffhq1024").ch(1024) == 32


def test_unknown_preset_is_one_clear_line():
    with pytest.raises(GandistillError, match="choose from"):
        apply_preset("ffhq9000")


def test_cli_flags_override_the_preset(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli(["teacher", "train", "--preset", "tiny", "--out", str(out), "--z-dim", "8", "--batch", "2",
              "--data-n", "8", "--dry-run"])
    assert rc == 0
    printed = capsys.readouterr().out
    resolved = json.loads(printed[printed.index("{"):])
    assert resolved["model"]["z_dim"] == 8 and resolved["batch"] == 2  # flags
    assert resolved["model"]["resolution"] == 16 and resolved["model"]["channel_max"] == 16  # preset
    assert resolved["steps"] == PRESETS["tiny"].train["steps"]


def test_preset_with_resume_is_refused(tmp_path, capsys):
    rc = cli(["teacher", "train", "--preset", "tiny", "--out", str(tmp_path), "--resume", "latest"])
    assert rc == 2 and "--preset" in capsys.readouterr().err
