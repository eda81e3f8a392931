"""rosinality .pt import: every reference output of the fixture, round trip, and bad files.

The fixture (tests/fixtures/rosinality_sg2_32px.*, see its README) was computed by rosinality's own
stylegan2-pytorch code; tolerances are the README's: 1e-4 in float32, 1e-9 in float64.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gandistill.errors import CheckpointError
from gandistill.importers import detect_format, import_checkpoint
from gandistill.importers.rosinality import export_rosinality, load_rosinality, read_checkpoint
from gandistill.teacher import Teacher

FIXTURES = Path(__file__).parent / "fixtures"
CKPT = FIXTURES / "rosinality_sg2_32px.pt"
EXPECTED = FIXTURES / "rosinality_sg2_32px.expected.safetensors"
CKPT_SHA256 = "ac235255474de1b8c3bdb68c9ff7e61ac10554518701e140a8772e0163c3e872"
INPUTS = {"z", "mix_z2", "w_in", "ws_in", "d_in", "d_in8", "latent_avg"}


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return load_file(str(EXPECTED))


@torch.no_grad()
def reference_outputs(g_ema: Teacher, g: Teacher, e: dict[str, torch.Tensor], dtype: torch.dtype) -> dict:
    """Recompute every output of the fixture with our networks (noise from the stored buffers)."""
    G, D = g_ema.G.to(dtype), g_ema.D.to(dtype)
    x = {k: e[k].to(dtype) for k in INPUTS}
    out: dict[str, torch.Tensor] = {}
    ws = G.mapping(x["z"])
    out["w_of_z"] = ws[:, 0]
    out["img_trunc1"] = G.synthesis(ws, noise_mode="const")
    out["latent_trunc07"] = G.mapping(x["z"], psi=0.7)
    out["img_trunc07"] = G.synthesis(out["latent_trunc07"], noise_mode="const")
    ws2 = G.mapping(x["mix_z2"])
    for k in (1, 3, 6):  # rosinality inject_index=k: slots < k from z, slots ≥ k from mix_z2
        mixed = torch.cat([ws[:, :k], ws2[:, k:]], dim=1)
        out[f"img_mix_k{k}"] = G.synthesis(mixed, noise_mode="const")
        if k == 3:
            out["latent_mix_k3"] = mixed
    out["latent_from_w"] = x["w_in"].unsqueeze(1).repeat(1, G.num_ws, 1)
    out["img_from_w"] = G.synthesis(out["latent_from_w"], noise_mode="const")
    out["img_from_ws"] = G.synthesis(x["ws_in"], noise_mode="const")
    Gt = g.G.to(dtype)
    out["img_g_trunc1"] = Gt.synthesis(Gt.mapping(x["z"]), noise_mode="const")
    out["d_out"] = D(x["d_in"])
    out["d_out8"] = D(x["d_in8"])
    out["d_out_b1"] = torch.cat([D(x["d_in"][i:i + 1]) for i in range(4)])
    out["d_of_img_trunc1"] = D(out["img_trunc1"])
    return out


@pytest.fixture(scope="module")
def ours(expected) -> dict[str, torch.Tensor]:
    """Our outputs under the fixture's names (``_f64`` for the float64 run)."""
    result = {}
    for dtype, suffix in ((torch.float32, ""), (torch.float64, "_f64")):
        g_ema, g = load_rosinality(CKPT), load_rosinality(CKPT, which="g")
        for name, t in reference_outputs(g_ema, g, expected, dtype).items():
            result[name + suffix] = t
    return result


def checked_names() -> list[str]:
    names = load_file(str(EXPECTED)).keys()
    return sorted(n for n in names if n not in INPUTS and not n.startswith("trace_"))


@pytest.mark.parametrize("name", checked_names())
def test_reproduces_reference_output(name, ours, expected):
    want = expected[name]
    got = ours[name]
    assert got.shape == want.shape and got.dtype == want.dtype
    tol = 1e-9 if name.endswith("_f64") else 1e-4
    err = (got - want).abs().max().item()
    assert err <= tol, f"{name}: max abs error {err:.3g} > {tol}"


def test_every_output_is_checked(ours):
    assert set(checked_names()) == set(ours)  # 16 float32 + 16 float64 outputs
    assert len(ours) == 32


def test_config_inferred_from_shapes():
    t = load_rosinality(CKPT)
    cfg = t.config
    assert (cfg.resolution, cfg.img_channels, cfg.z_dim, cfg.w_dim, cfg.mapping_layers) == (32, 3, 64, 64, 3)
    assert {r: cfg.ch(r) for r in cfg.resolutions} == {4: 64, 8: 64, 16: 32, 32: 32}
    assert cfg.num_ws == 8


def test_latent_avg_and_noise_buffers_are_imported(expected):
    t = load_rosinality(CKPT)
    assert torch.equal(t.G.mapping.w_avg, expected["latent_avg"])
    ckpt = read_checkpoint(CKPT)
    syn = t.G.synthesis
    layers = [syn.blocks[0].conv1] + [c for b in syn.blocks[1:] for c in (b.conv0, b.conv1)]
    for j, layer in enumerate(layers):
        assert torch.equal(layer.noise_const, ckpt["g_ema"][f"noises.noise_{j}"])
    g = load_rosinality(CKPT, which="g")
    assert not torch.equal(g.G.synthesis.blocks[0].conv1.noise_const, syn.blocks[0].conv1.noise_const)
    assert torch.equal(g.D.conv.weight, t.D.conv.weight)  # same d for either generator


def test_export_round_trip_is_exact(tmp_path):
    t = load_rosinality(CKPT)
    out = export_rosinality(t, tmp_path / "export.pt")
    plain = torch.load(out, weights_only=True)  # no Namespace, nothing but tensors and dicts
    assert set(plain) == {"g_ema", "g", "d", "latent_avg"}
    orig = read_checkpoint(CKPT)
    for net in ("g_ema", "d"):  # rosinality's own layout, kernels included, bit for bit
        assert set(plain[net]) == set(orig[net])
        for k, v in orig[net].items():
            assert plain[net][k].shape == v.shape and torch.equal(plain[net][k], v), (net, k)
    assert torch.equal(plain["latent_avg"], orig["latent_avg"])
    back = load_rosinality(out)
    for a, b in zip(t.state_dict().items(), back.state_dict().items()):
        assert a[0] == b[0] and torch.equal(a[1], b[1])
    assert back.config == t.config


def test_import_checkpoint_saves_model_directory(tmp_path, expected):
    assert detect_format(CKPT) == "rosinality"
    t = import_checkpoint(CKPT, out=tmp_path / "teacher")
    meta = json.loads((tmp_path / "teacher" / "config.json").read_text())
    assert meta["extra"]["imported_from"] == str(CKPT)
    assert meta["extra"]["source_sha256"] == CKPT_SHA256 == hashlib.sha256(CKPT.read_bytes()).hexdigest()
    assert meta["extra"]["which"] == "g_ema" and meta["extra"]["format"] == "rosinality"
    loaded = Teacher.from_pretrained(tmp_path / "teacher")
    with torch.no_grad():
        img = loaded.G.synthesis(loaded.G.mapping(expected["z"]), noise_mode="const")
    assert (img - expected["img_trunc1"]).abs().max() <= 1e-4
    assert torch.equal(img, t.G.synthesis(t.G.mapping(expected["z"]), noise_mode="const"))
    with pytest.raises(CheckpointError, match="already holds a model"):
        import_checkpoint(CKPT, out=tmp_path / "teacher")


def test_cli_import(tmp_path, capsys):
    from gandistill.cli.teacher_import import add_import_parser

    parser = argparse.ArgumentParser(prog="gandistill teacher")
    add_import_parser(parser.add_subparsers(dest="action"))
    args = parser.parse_args(["import", str(CKPT), "--out", str(tmp_path / "m"), "--which", "g"])
    assert args.func(args) == 0
    assert "32px" in capsys.readouterr().out
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["extra"]["which"] == "g" and meta["class"] == "Teacher"
    args = parser.parse_args(["import", str(CKPT), "--out", str(tmp_path / "dry"), "--dry-run"])
    assert args.func(args) == 0 and not (tmp_path / "dry").exists()


# --- bad files --------------------------------------------------------------------------------
def _fixture_dict() -> dict:
    return read_checkpoint(CKPT)


def test_truncated_file_is_refused(tmp_path):
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(CKPT.read_bytes()[: CKPT.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        import_checkpoint(bad)


def test_missing_g_ema_is_named(tmp_path):
    ckpt = _fixture_dict()
    del ckpt["g_ema"]
    torch.save(ckpt, tmp_path / "no_ema.pt")
    with pytest.raises(CheckpointError, match="no 'g_ema' entry"):
        load_rosinality(tmp_path / "no_ema.pt")
    load_rosinality(tmp_path / "no_ema.pt", which="g")  # the training generator is still there


def test_missing_tensor_is_named(tmp_path):
    ckpt = _fixture_dict()
    del ckpt["g_ema"]["convs.3.activate.bias"]
    torch.save(ckpt, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"lacks 1 tensors: convs\.3\.activate\.bias"):
        load_rosinality(tmp_path / "missing.pt")


def test_wrong_shape_is_named(tmp_path):
    ckpt = _fixture_dict()
    ckpt["g_ema"]["convs.1.conv.weight"] = torch.zeros(1, 64, 32, 3, 3)
    torch.save(ckpt, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"convs\.1\.conv\.weight: file \[1, 64, 32, 3, 3\], expected \[1, 64, 64, 3, 3\]"):
        load_rosinality(tmp_path / "shape.pt")
    ckpt = _fixture_dict()
    ckpt["d"]["final_linear.0.weight"] = torch.zeros(64, 1000)
    torch.save(ckpt, tmp_path / "dshape.pt")
    with pytest.raises(CheckpointError, match=r"final_linear\.0\.weight"):
        load_rosinality(tmp_path / "dshape.pt")


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="neither a PyTorch checkpoint"):
        import_checkpoint(tmp_path / "x.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a rosinality checkpoint"):
        load_rosinality(tmp_path / "list.pt")


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pt_with_code_is_refused(tmp_path):
    ckpt = _fixture_dict()
    ckpt["args"] = _RunsCode()
    torch.save(ckpt, tmp_path / "evil.pt", pickle_protocol=2)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_rosinality(tmp_path / "evil.pt")


def test_without_latent_avg_w_avg_is_estimated(tmp_path, expected):
    ckpt = _fixture_dict()
    del ckpt["latent_avg"], ckpt["args"], ckpt["g_optim"], ckpt["d_optim"]
    torch.save(ckpt, tmp_path / "train.pt")
    t = load_rosinality(tmp_path / "train.pt")
    assert t.import_notes and "estimated" in t.import_notes[0]
    assert (t.G.mapping.w_avg - expected["latent_avg"]).abs().max() < 0.1

