"""NVlabs .pkl import: the restricted unpickler refuses code, and persisted networks load as data.

Real NVlabs pickles are not available offline, so the tests build them: stand-in classes whose
``__reduce__`` returns a ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` call, with
the meta layout of stylegan2-ada-pytorch (type, version, module_src, class_name, state = the
module's ``__dict__`` with ``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs`` …).
The fake ``torch_utils`` / ``dnnlib`` modules exist only while pickling.
"""
from __future__ import annotations

import collections
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gandistill.errors import CheckpointError
from gandistill.importers import detect_format, import_checkpoint
from gandistill.importers.nvlabs_pickle import PersistentObject, load_nvlabs_pickle, read_nvlabs_pickle
from gandistill.importers.rosinality import read_checkpoint
from gandistill.teacher import StyleGAN2Config, Teacher
from gandistill.teacher.ops import make_fir_kernel

FIXTURES = Path(__file__).parent / "fixtures"


# --- building NVlabs-style pickles ------------------------------------------------------------
def _module_src(marker: Path) -> str:
    """Source text stored in the pickle; if anything ever exec'd it, ``marker`` would appear."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('module_src was executed')\n"


class _Persisted:
    """Pickles exactly like an NVlabs persistent object (see torch_utils/persistence.py)."""

    reconstruct = None  # the fake _reconstruct_persistent_obj, set while pickling
    module_src = ""

    def __init__(self, class_name, params=None, buffers=None, modules=None, init_kwargs=None, **attrs):
        self.class_name = class_name
        self.state = {
            "training": False,
            "_parameters": collections.OrderedDict(
                (k, None if v is None else torch.nn.Parameter(v.clone(), requires_grad=False))
                for k, v in (params or {}).items()),
            "_buffers": collections.OrderedDict((k, v.clone()) for k, v in (buffers or {}).items()),
            "_non_persistent_buffers_set": set(),
            "_backward_hooks": collections.OrderedDict(),
            "_forward_hooks": collections.OrderedDict(),
            "_forward_pre_hooks": collections.OrderedDict(),
            "_state_dict_hooks": collections.OrderedDict(),
            "_load_state_dict_pre_hooks": collections.OrderedDict(),
            "_modules": collections.OrderedDict(modules or {}),
            "_init_args": (),
            "_init_kwargs": dict(init_kwargs or {}),
            **attrs,
        }

    def __reduce__(self):
        meta = dict(type="class", version=6, module_src=_Persisted.module_src,
                    class_name=self.class_name, state=self.state)
        return (_Persisted.reconstruct, (meta,))


def _dump_with_fake_modules(obj, path: Path, marker: Path, protocol: int = 4) -> None:
    """pickle.dump with stand-in torch_utils.persistence and dnnlib.util importable, then remove them."""
    saved = {k: sys.modules.get(k) for k in ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")}
    tu, tup = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    dn, dnu = types.ModuleType("dnnlib"), types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # noqa: ARG001 - never called by the importer
        raise AssertionError("the real reconstruct function must never run")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    tup._reconstruct_persistent_obj = _reconstruct_persistent_obj
    tu.persistence = tup
    dn.util = dnu
    sys.modules.update({"torch_utils": tu, "torch_utils.persistence": tup, "dnnlib": dn, "dnnlib.util": dnu})
    _Persisted.reconstruct, _Persisted.module_src = _reconstruct_persistent_obj, _module_src(marker)
    try:
        with open(path, "wb") as fh:
            pickle.dump(_rebase_easydicts(obj, dnu), fh, protocol=protocol)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _EasyDictMarker(dict):
    pass


def _rebase_easydicts(obj, dnnlib_util):
    """Turn _EasyDictMarker dicts into instances of a class named dnnlib.util.EasyDict."""
    cls = getattr(dnnlib_util, "EasyDict", None)
    if cls is None:
        cls = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
        dnnlib_util.EasyDict = cls
    if isinstance(obj, _EasyDictMarker):
        return cls({k: _rebase_easydicts(v, dnnlib_util) for k, v in obj.items()})
    if isinstance(obj, _Persisted):
        obj.state["_init_kwargs"] = {k: _rebase_easydicts(v, dnnlib_util) for k, v in obj.state["_init_kwargs"].items()}
        for child in obj.state["_modules"].values():
            _rebase_easydicts(child, dnnlib_util)
        return obj
    if isinstance(obj, dict):
        return {k: _rebase_easydicts(v, dnnlib_util) for k, v in obj.items()}
    return obj


FILTER = make_fir_kernel([1, 3, 3, 1])  # NVlabs setup_filter: sum 1


def _fc(nv, name, lr=1.0, act="linear", bias_init=0):
    w = nv[f"{name}.weight"]
    return _Persisted("FullyConnectedLayer", params={"weight": w, "bias": nv[f"{name}.bias"]},
                      init_kwargs=dict(in_features=w.shape[1], out_features=w.shape[0], activation=act,
                                       lr_multiplier=lr, bias_init=bias_init),
                      activation=act, weight_gain=np.float64(lr / np.sqrt(w.shape[1])), bias_gain=lr)


def _conv(nv, name, down=1, bias=True, act="lrelu"):
    w = nv[f"{name}.weight"]
    params = {"weight": w, "bias": nv[f"{name}.bias"] if bias else None}
    return _Persisted("Conv2dLayer", params=params, buffers={"resample_filter": FILTER},
                      init_kwargs=dict(in_channels=w.shape[1], out_channels=w.shape[0], kernel_size=w.shape[2],
                                       bias=bias, activation=act, down=down),
                      activation=act, up=1, down=down, conv_clamp=256, padding=w.shape[2] // 2,
                      weight_gain=np.float64(1 / np.sqrt(w[0].numel())), act_gain=float(np.sqrt(2)))


def _syn_layer(nv, name, res, up):
    w = nv[f"{name}.weight"]
    return _Persisted("SynthesisLayer", params={"weight": w, "noise_strength": nv[f"{name}.noise_strength"],
                                                "bias": nv[f"{name}.bias"]},
                      buffers={"resample_filter": FILTER, "noise_const": nv[f"{name}.noise_const"]},
                      modules={"affine": _fc(nv, f"{name}.affine", bias_init=1)},
                      init_kwargs=dict(in_channels=w.shape[1], out_channels=w.shape[0], w_dim=nv["w_dim"],
                                       resolution=res, up=up, conv_clamp=256, channels_last=False),
                      resolution=res, up=up, use_noise=True, activation="lrelu", conv_clamp=256, padding=1,
                      act_gain=float(np.sqrt(2)))


def nvlabs_generator(nv: dict, resolution: int, z_dim: int, w_dim: int, n_mlp: int, img_channels: int = 3):
    """A persisted stylegan2-ada-pytorch Generator from NVlabs-named tensors."""
    nv = {**nv, "w_dim": w_dim}
    res_list = [2 ** i for i in range(2, int(np.log2(resolution)) + 1)]
    blocks = {}
    for res in res_list:
        p = f"synthesis.b{res}"
        mods = {}
        if res > 4:
            mods["conv0"] = _syn_layer(nv, f"{p}.conv0", res, 2)
        mods["conv1"] = _syn_layer(nv, f"{p}.conv1", res, 1)
        w = nv[f"{p}.torgb.weight"]
        mods["torgb"] = _Persisted("ToRGBLayer", params={"weight": w, "bias": nv[f"{p}.torgb.bias"]},
                                   modules={"affine": _fc(nv, f"{p}.torgb.affine", bias_init=1)},
                                   init_kwargs=dict(in_channels=w.shape[1], out_channels=w.shape[0], w_dim=w_dim),
                                   conv_clamp=256, weight_gain=np.float64(1 / np.sqrt(w.shape[1])))
        blocks[f"b{res}"] = _Persisted(
            "SynthesisBlock", params={"const": nv[f"{p}.const"]} if res == 4 else {},
            buffers={"resample_filter": FILTER}, modules=mods,
            init_kwargs=dict(in_channels=0 if res == 4 else 1, out_channels=1, w_dim=w_dim, resolution=res,
                             img_channels=img_channels, is_last=res == resolution, use_fp16=False),
            in_channels=0 if res == 4 else 1, resolution=res, is_last=res == resolution,
            architecture="skip", use_fp16=res >= 16, num_conv=1 if res == 4 else 2, num_torgb=1)
    num_ws = 2 * len(res_list)
    synthesis = _Persisted("SynthesisNetwork", modules=blocks,
                           init_kwargs=dict(w_dim=w_dim, img_resolution=resolution, img_channels=img_channels,
                                            num_fp16_res=2, conv_clamp=256),
                           w_dim=w_dim, img_resolution=resolution, block_resolutions=res_list, num_ws=num_ws)
    fcs = {f"fc{i}": _fc(nv, f"mapping.fc{i}", lr=0.01, act="lrelu") for i in range(n_mlp)}
    mapping = _Persisted("MappingNetwork", modules=fcs, buffers={"w_avg": nv["mapping.w_avg"]},
                         init_kwargs=dict(z_dim=z_dim, c_dim=0, w_dim=w_dim, num_ws=num_ws, num_layers=n_mlp),
                         z_dim=z_dim, c_dim=0, w_dim=w_dim, num_ws=num_ws, num_layers=n_mlp, w_avg_beta=0.995)
    return _Persisted("Generator", modules={"synthesis": synthesis, "mapping": mapping},
                      init_kwargs=dict(z_dim=z_dim, w_dim=w_dim, c_dim=0, img_resolution=resolution,
                                       img_channels=img_channels,
                                       mapping_kwargs=_EasyDictMarker(num_layers=n_mlp),
                                       synthesis_kwargs=_EasyDictMarker(num_fp16_res=2, conv_clamp=256)),
                      z_dim=z_dim, c_dim=0, w_dim=w_dim, img_resolution=resolution, img_channels=img_channels,
                      num_ws=num_ws)


def nvlabs_discriminator(nv: dict, resolution: int, img_channels: int = 3):
    res_list = [2 ** i for i in range(int(np.log2(resolution)), 2, -1)]
    mods = {}
    for res in res_list:
        p = f"b{res}"
        block = {"conv0": _conv(nv, f"{p}.conv0"), "conv1": _conv(nv, f"{p}.conv1", down=2),
                 "skip": _conv(nv, f"{p}.skip", down=2, bias=False, act="linear")}
        if res == resolution:
            block = {"fromrgb": _conv(nv, f"{p}.fromrgb"), **block}
        mods[p] = _Persisted("DiscriminatorBlock", buffers={"resample_filter": FILTER}, modules=block,
                             init_kwargs=dict(resolution=res, img_channels=img_channels, architecture="resnet"),
                             resolution=res, architecture="resnet", use_fp16=False)
    mbstd = _Persisted("MinibatchStdLayer", init_kwargs=dict(group_size=4, num_channels=1),
                       group_size=4, num_channels=1)
    mods["b4"] = _Persisted("DiscriminatorEpilogue",
                            modules={"mbstd": mbstd, "conv": _conv(nv, "b4.conv"),
                                     "fc": _fc(nv, "b4.fc", act="lrelu"), "out": _fc(nv, "b4.out")},
                            init_kwargs=dict(cmap_dim=0, resolution=4, img_channels=img_channels,
                                             mbstd_group_size=4), architecture="resnet", cmap_dim=0)
    return _Persisted("Discriminator", modules=mods,
                      init_kwargs=dict(c_dim=0, img_resolution=resolution, img_channels=img_channels,
                                       architecture="resnet", block_kwargs=_EasyDictMarker(),
                                       epilogue_kwargs=_EasyDictMarker(mbstd_group_size=4)),
                      c_dim=0, img_resolution=resolution, img_channels=img_channels, block_resolutions=res_list)


# --- NVlabs names for two independent sources -------------------------------------------------
def rosinality_to_nvlabs(g: dict, d: dict, latent_avg: torch.Tensor, resolution: int) -> tuple[dict, dict]:
    """The README's 'Relation to the NVlabs layout', written from the rosinality side."""
    nv = {"mapping.w_avg": latent_avg.reshape(-1)}
    n_mlp = len([k for k in g if k.startswith("style.") and k.endswith(".weight")])
    for i in range(n_mlp):
        nv[f"mapping.fc{i}.weight"], nv[f"mapping.fc{i}.bias"] = g[f"style.{i + 1}.weight"], g[f"style.{i + 1}.bias"]
    nv["synthesis.b4.const"] = g["input.input"][0]
    layers = [("synthesis.b4.conv1", "conv1")]
    rgbs = [("synthesis.b4.torgb", "to_rgb1")]
    res_list = [2 ** i for i in range(3, int(np.log2(resolution)) + 1)]
    for k, res in enumerate(res_list):
        layers += [(f"synthesis.b{res}.conv0", f"convs.{2 * k}"), (f"synthesis.b{res}.conv1", f"convs.{2 * k + 1}")]
        rgbs.append((f"synthesis.b{res}.torgb", f"to_rgbs.{k}"))
    for j, (n, r) in enumerate(layers):
        nv[f"{n}.weight"] = g[f"{r}.conv.weight"][0]
        nv[f"{n}.affine.weight"], nv[f"{n}.affine.bias"] = g[f"{r}.conv.modulation.weight"], g[f"{r}.conv.modulation.bias"]
        nv[f"{n}.noise_strength"] = g[f"{r}.noise.weight"].reshape([])
        nv[f"{n}.noise_const"] = g[f"noises.noise_{j}"][0, 0]
        nv[f"{n}.bias"] = g[f"{r}.activate.bias"]
    for n, r in rgbs:
        nv[f"{n}.weight"] = g[f"{r}.conv.weight"][0]
        nv[f"{n}.affine.weight"], nv[f"{n}.affine.bias"] = g[f"{r}.conv.modulation.weight"], g[f"{r}.conv.modulation.bias"]
        nv[f"{n}.bias"] = g[f"{r}.bias"].reshape(-1)
    dn = {f"b{resolution}.fromrgb.weight": d["convs.0.0.weight"], f"b{resolution}.fromrgb.bias": d["convs.0.1.bias"]}
    for j, res in enumerate([2 ** i for i in range(int(np.log2(resolution)), 2, -1)], start=1):
        dn[f"b{res}.conv0.weight"], dn[f"b{res}.conv0.bias"] = d[f"convs.{j}.conv1.0.weight"], d[f"convs.{j}.conv1.1.bias"]
        dn[f"b{res}.conv1.weight"], dn[f"b{res}.conv1.bias"] = d[f"convs.{j}.conv2.1.weight"], d[f"convs.{j}.conv2.2.bias"]
        dn[f"b{res}.skip.weight"] = d[f"convs.{j}.skip.1.weight"]
    dn["b4.conv.weight"], dn["b4.conv.bias"] = d["final_conv.0.weight"], d["final_conv.1.bias"]
    dn["b4.fc.weight"], dn["b4.fc.bias"] = d["final_linear.0.weight"], d["final_linear.0.bias"]
    dn["b4.out.weight"], dn["b4.out.bias"] = d["final_linear.1.weight"], d["final_linear.1.bias"]
    return nv, dn


def ours_to_nvlabs(teacher: Teacher) -> tuple[dict, dict]:
    """Our module names → NVlabs names (they were chosen to be nearly the same)."""
    cfg, G, D = teacher.config, teacher.G.state_dict(), teacher.D.state_dict()
    nv = {}
    for k, v in G.items():
        k = k.replace("mapping.layers.", "mapping.fc")
        for b, res in enumerate(cfg.resolutions):
            k = k.replace(f"synthesis.blocks.{b}.", f"synthesis.b{res}.")
        k = k.replace(".conv.affine.", ".affine.").replace(".conv.weight", ".weight")
        nv[k] = v[0, 0] if k.endswith("noise_const") else v
    dn = {}
    for k, v in D.items():
        for j, res in enumerate(r for r in reversed(cfg.resolutions) if r > 4):
            k = k.replace(f"blocks.{j}.", f"b{res}.")
        k = k.replace("fromrgb.", f"b{cfg.resolution}.fromrgb.")
        for a in ("conv", "fc", "out"):
            if k.startswith(f"{a}."):
                k = "b4." + k
        dn[k] = v
    return nv, dn


def random_teacher(cfg: StyleGAN2Config, seed: int) -> Teacher:
    """A teacher whose every tensor (biases, noise strengths, w_avg included) is non-trivial."""
    torch.manual_seed(seed)
    t = Teacher(cfg)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in t.state_dict().items():  # not the fixed FIR kernels (non-persistent buffers)
            scale = 10.0 if name.startswith("G.mapping.layers") else 0.2
            p.add_(torch.randn(p.shape, generator=gen) * scale)
    return t


CFG = StyleGAN2Config(resolution=16, z_dim=24, w_dim=32, mapping_layers=2, channel_base=256, channel_max=32)


@pytest.fixture()
def marker(tmp_path) -> Path:
    m = tmp_path / "SIDE_EFFECT"
    yield m
    assert not m.exists(), "pickled code was executed"


def _snapshot(G_ema: Teacher, G: Teacher, cfg: StyleGAN2Config) -> dict:
    nv_ema, dn = ours_to_nvlabs(G_ema)
    nv_g, _ = ours_to_nvlabs(G)
    kw = dict(resolution=cfg.resolution, z_dim=cfg.z_dim, w_dim=cfg.w_dim, n_mlp=cfg.mapping_layers,
              img_channels=cfg.img_channels)
    return {"G": nvlabs_generator(nv_g, **kw), "D": nvlabs_discriminator(dn, cfg.resolution, cfg.img_channels),
            "G_ema": nvlabs_generator(nv_ema, **kw), "augment_pipe": None,
            "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "resolution": 16}}


# --- tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 4])
def test_persisted_networks_load_as_data(tmp_path, marker, protocol):
    src, src_g = random_teacher(CFG, 0), random_teacher(CFG, 1)
    path = tmp_path / "network-snapshot.pkl"
    _dump_with_fake_modules(_snapshot(src, src_g, CFG), path, marker, protocol=protocol)
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules

    data = read_nvlabs_pickle(path)
    assert isinstance(data["G_ema"], PersistentObject) and data["G_ema"].class_name == "Generator"
    assert "module_src was executed" in data["G_ema"].module_src  # kept as text, never run
    assert data["G_ema"].init_kwargs["mapping_kwargs"]["num_layers"] == 2
    assert isinstance(data["G_ema"].child("mapping").child("fc0").state["weight_gain"], np.floating)

    for which, want in (("g_ema", src), ("g", src_g)):
        t = load_nvlabs_pickle(path, which=which)
        assert t.config.channel_base == 256 and t.config.channel_max == 32 and t.config.channels is None
        assert (t.config.z_dim, t.config.w_dim, t.config.mapping_layers) == (24, 32, 2)
        for mine, ref in ((t.G, want.G), (t.D, src.D)):  # the snapshot's one D goes with either G
            ours, theirs = mine.state_dict(), ref.state_dict()
            assert ours.keys() == theirs.keys()
            assert all(torch.equal(ours[k], theirs[k]) for k in ours)
        z = torch.randn(4, CFG.z_dim, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            for psi in (1.0, 0.7):
                a = t.G.synthesis(t.G.mapping(z, psi=psi), noise_mode="const")
                b = want.G.synthesis(want.G.mapping(z, psi=psi), noise_mode="const")
                assert torch.equal(a, b)
            assert torch.equal(t.D(a), src.D(a))
    assert any("conv_clamp" in n for n in t.import_notes)


def test_fixture_through_nvlabs_layout(tmp_path, marker):
    """The rosinality fixture rewritten in NVlabs names reproduces rosinality's reference outputs."""
    ckpt = read_checkpoint(FIXTURES / "rosinality_sg2_32px.pt")
    e = load_file(str(FIXTURES / "rosinality_sg2_32px.expected.safetensors"))
    nv_ema, dn = rosinality_to_nvlabs(ckpt["g_ema"], ckpt["d"], ckpt["latent_avg"], 32)
    nv_g, _ = rosinality_to_nvlabs(ckpt["g"], ckpt["d"], ckpt["latent_avg"], 32)
    kw = dict(resolution=32, z_dim=64, w_dim=64, n_mlp=3)
    snap = {"G": nvlabs_generator(nv_g, **kw), "D": nvlabs_discriminator(dn, 32), "G_ema": nvlabs_generator(nv_ema, **kw)}
    path = tmp_path / "fixture.pkl"
    _dump_with_fake_modules(snap, path, marker)
    assert detect_format(path) == "nvlabs"
    t = import_checkpoint(path, out=tmp_path / "teacher")
    tg = load_nvlabs_pickle(path, which="g")
    assert {r: t.config.ch(r) for r in t.config.resolutions} == {4: 64, 8: 64, 16: 32, 32: 32}
    with torch.no_grad():
        ws = t.G.mapping(e["z"])
        ws2 = t.G.mapping(e["mix_z2"])
        got = {
            "img_trunc1": t.G.synthesis(ws, noise_mode="const"),
            "img_trunc07": t.G.synthesis(t.G.mapping(e["z"], psi=0.7), noise_mode="const"),
            "img_mix_k3": t.G.synthesis(torch.cat([ws[:, :3], ws2[:, 3:]], 1), noise_mode="const"),
            "img_from_ws": t.G.synthesis(e["ws_in"], noise_mode="const"),
            "img_g_trunc1": tg.G.synthesis(tg.G.mapping(e["z"]), noise_mode="const"),
            "d_out": t.D(e["d_in"]), "d_out8": t.D(e["d_in8"]),
        }
    for name, value in got.items():
        assert (value - e[name]).abs().max() <= 1e-4, name
    loaded = Teacher.from_pretrained(tmp_path / "teacher")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), t.state_dict().values()))


class _SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"__import__('pathlib').Path({str(self.marker)!r}).write_text('x')",))


@pytest.mark.parametrize("payload, name", [(_SystemCall, f"{os.system.__module__}.system"), (_Eval, "builtins.eval")])
def test_code_in_pickle_is_refused(tmp_path, marker, payload, name):
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"G_ema": payload(marker), "D": None}, fh)
    with pytest.raises(CheckpointError, match=rf"refusing to load .*references {name}, which is not on the allowlist"):
        import_checkpoint(path)
    with pytest.raises(CheckpointError, match="not on the allowlist"):
        read_nvlabs_pickle(path)


def test_hidden_global_inside_persisted_state_is_refused(tmp_path, marker):
    t = random_teacher(CFG, 0)
    snap = _snapshot(t, t, CFG)
    snap["G_ema"].state["sneaky"] = _SystemCall(marker)
    path = tmp_path / "sneaky.pkl"
    _dump_with_fake_modules(snap, path, marker)
    with pytest.raises(CheckpointError, match="system, which is not on the allowlist"):
        load_nvlabs_pickle(path)


def test_stylegan3_is_refused(tmp_path, marker):
    syn = _Persisted("SynthesisNetwork", modules={"input": _Persisted("SynthesisInput"),
                                                   "L0_36_512": _Persisted("SynthesisLayer")})
    G = _Persisted("Generator", modules={"synthesis": syn}, init_kwargs=dict(z_dim=512, w_dim=512, c_dim=0,
                   img_resolution=1024, img_channels=3), z_dim=512, w_dim=512, c_dim=0, img_resolution=1024,
                   img_channels=3)
    path = tmp_path / "sg3.pkl"
    _dump_with_fake_modules({"G": G, "D": _Persisted("Discriminator"), "G_ema": G}, path, marker)
    with pytest.raises(CheckpointError, match="StyleGAN3 synthesis is not supported; only StyleGAN2 configs of stylegan3 repo"):
        load_nvlabs_pickle(path)


def test_bad_pickles(tmp_path, marker):
    t = random_teacher(CFG, 0)
    path = tmp_path / "snap.pkl"
    _dump_with_fake_modules(_snapshot(t, t, CFG), path, marker)
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        import_checkpoint(cut)

    snap = _snapshot(t, t, CFG)
    del snap["D"]
    _dump_with_fake_modules(snap, tmp_path / "noD.pkl", marker)
    with pytest.raises(CheckpointError, match="no 'D' network"):
        load_nvlabs_pickle(tmp_path / "noD.pkl")

    snap = _snapshot(t, t, CFG)
    block = snap["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b8"].state["_modules"]["conv1"]
    block.state["_parameters"]["weight"] = torch.nn.Parameter(torch.zeros(32, 16, 3, 3), requires_grad=False)
    _dump_with_fake_modules(snap, tmp_path / "shape.pkl", marker)
    with pytest.raises(CheckpointError, match=r"synthesis\.b8\.conv1\.weight: file \[32, 16, 3, 3\], expected \[32, 32, 3, 3\]"):
        load_nvlabs_pickle(tmp_path / "shape.pkl")

    snap = _snapshot(t, t, CFG)
    del snap["G_ema"].state["_modules"]["mapping"].state["_modules"]["fc1"].state["_parameters"]["bias"]
    _dump_with_fake_modules(snap, tmp_path / "missing.pkl", marker)
    with pytest.raises(CheckpointError, match=r"lacks 1 tensors: mapping\.fc1\.bias"):
        load_nvlabs_pickle(tmp_path / "missing.pkl")


def test_allowlist_accepts_numpy1_names_and_nothing_unexpected():
    import io

    from gandistill.importers.nvlabs_pickle import ALLOWED_GLOBALS, RestrictedUnpickler

    u = RestrictedUnpickler(io.BytesIO(b""), "x.pkl")
    assert u.find_class("numpy.core.multiarray", "scalar") is u.find_class("numpy._core.multiarray", "scalar")
    for module, name in [("builtins", "getattr"), ("os", "system"), ("subprocess", "Popen"),
                         ("torch", "load"), ("numpy", "load"), ("torch_utils.persistence", "_src_to_module")]:
        assert (module, name) not in ALLOWED_GLOBALS
        with pytest.raises(CheckpointError, match=rf"references {module}\.{name}"):
            u.find_class(module, name)
