"""Import NVlabs ``stylegan2-ada-pytorch`` / ``stylegan3`` network pickles (``.pkl``) without running them.

    teacher = load_nvlabs_pickle("ffhq.pkl")              # G_ema + D → Teacher
    teacher = load_nvlabs_pickle("ffhq.pkl", which="g")   # the training generator G instead

NVlabs pickles store their networks through ``torch_utils.persistence``: each network object is
pickled as a call ``_reconstruct_persistent_obj(meta)`` whose ``meta`` carries the module's source
code (``module_src``), which normal unpickling ``exec``s. Here a restricted unpickler resolves only
an allowlist (tensor rebuild functions, containers, numpy scalars, and a stand-in for
``_reconstruct_persistent_obj`` that turns ``meta`` into a :class:`PersistentObject`, plain data).
``module_src`` is kept as text and never executed; anything else the pickle names is refused.

The architecture is then rebuilt with our code from the recorded constructor arguments
(``_init_kwargs``) and the objects' attributes; channel counts are read from the weight shapes.
Key map (NVlabs → ours) is explicit below; tensors are copied as they are except ``noise_const``
(R, R) → (1, 1, R, R). NVlabs' ``resample_filter`` buffers (sum 1, gains applied at run time) are
fixed constants: they are checked to be the [1, 3, 3, 1] filter and not copied. NVlabs' ``conv_clamp``
(±256) and fp16 layers are not reproduced: imported networks run in float32 without clamping.
"""
from __future__ import annotations

import codecs
import collections
import io
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..teacher.config import StyleGAN2Config
from ..teacher.model import Teacher
from ..teacher.ops import make_fir_kernel
from .rosinality import SAME, Rule, apply_rules, channel_fields, estimate_w_avg


# --- plain-data stand-ins -----------------------------------------------------------------------
class PersistentObject:
    """What a ``torch_utils.persistence`` object becomes here: its class name, source text and state.

    ``state`` is the pickled ``__dict__`` of the original nn.Module (``_parameters``, ``_buffers``,
    ``_modules``, ``_init_kwargs``, plain attributes). Nothing in it is callable code.
    """

    def __init__(self, class_name: str, module_src: str, state: dict[str, Any], version: Any = None):
        self.class_name = class_name
        self.module_src = module_src
        self.state = state
        self.version = version

    def __repr__(self) -> str:
        return f"PersistentObject({self.class_name}, children={list(self.children())})"

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})

    def attr(self, name: str, default: Any = None) -> Any:
        """A recorded attribute (e.g. ``architecture``), else the constructor argument, else default."""
        if name in self.state:
            return self.state[name]
        return self.init_kwargs.get(name, default)

    def children(self) -> dict[str, "PersistentObject"]:
        mods = self.state.get("_modules") or {}
        return {k: v for k, v in mods.items() if v is not None}

    def child(self, name: str) -> "PersistentObject | None":
        c = self.children().get(name)
        return c if isinstance(c, PersistentObject) else None

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters and buffers of this object and its children, flattened like a state dict."""
        out: dict[str, torch.Tensor] = {}
        for group in ("_parameters", "_buffers"):
            for name, t in (self.state.get(group) or {}).items():
                if isinstance(t, torch.Tensor):
                    out[prefix + name] = t.detach()
        for name, child in self.children().items():
            if isinstance(child, PersistentObject):
                out.update(child.tensors(f"{prefix}{name}."))
        return out


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    """Stand-in for ``torch_utils.persistence._reconstruct_persistent_obj``: data only, no exec."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError(f"unexpected persistent-object record {type(meta).__name__} "
                              f"(type={meta.get('type') if isinstance(meta, dict) else None!r})")
    state = meta.get("state") or {}
    if not isinstance(state, dict):
        raise CheckpointError(f"persistent {meta.get('class_name')!r} has a non-dict state")
    return PersistentObject(str(meta.get("class_name")), str(meta.get("module_src") or ""), state,
                            meta.get("version"))


def _load_storage_from_bytes(data: bytes) -> Any:
    """Stand-in for ``torch.storage._load_from_bytes``: the bytes are a legacy torch.save of one
    storage, read with ``weights_only=True`` so they cannot name anything beyond storages either."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _numpy_attr(names: list[str], attr: str) -> Any:
    for mod in names:
        try:
            module = __import__(mod, fromlist=[attr])
            return getattr(module, attr)
        except (ImportError, AttributeError):
            continue
    return None


_NP_MULTIARRAY = ["numpy._core.multiarray", "numpy.core.multiarray"]
_TORCH_DTYPES = ["float16", "float32", "float64", "bfloat16", "uint8", "int8", "int16", "int32", "int64", "bool"]

#: (module, name) → the object it resolves to. Everything else is refused.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set, ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset, ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles spell bytes
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "device"): torch.device,
    ("torch", "Size"): torch.Size,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict, ("dnnlib", "EasyDict"): EasyDict,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
}
ALLOWED_GLOBALS.update({("torch", name): getattr(torch, name) for name in _TORCH_DTYPES})
for _mod in _NP_MULTIARRAY:
    for _name in ("scalar", "_reconstruct"):
        _obj = _numpy_attr(_NP_MULTIARRAY, _name)
        if _obj is not None:
            ALLOWED_GLOBALS[(_mod, _name)] = _obj


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only :data:`ALLOWED_GLOBALS`; refuses every other global and persistent id."""

    def __init__(self, file: Any, origin: str):
        super().__init__(file)
        self.origin = origin

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise CheckpointError(
                f"refusing to load {self.origin}: the pickle references {module}.{name}, which is not "
                "on the allowlist (NVlabs network pickles need only tensors, containers and "
                "torch_utils.persistence records). Unpickling it normally could run arbitrary code."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError(f"refusing to load {self.origin}: it uses pickle persistent ids "
                              "(is it a torch.save file? use the .pt importer)")


def read_nvlabs_pickle(path: str | Path) -> Any:
    """Unpickle an NVlabs ``.pkl`` as plain data (networks become :class:`PersistentObject`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    with open(path, "rb") as fh:
        try:
            return RestrictedUnpickler(fh, str(path)).load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                KeyError, RuntimeError, MemoryError, UnicodeDecodeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CheckpointError(f"{path} cannot be read as a network pickle ({type(exc).__name__}: {msg}); "
                                  "the file is truncated or corrupt") from exc


# --- architecture and key map -------------------------------------------------------------------
def _require(obj: Any, what: str, origin: str, class_name: str) -> PersistentObject:
    if not isinstance(obj, PersistentObject):
        raise CheckpointError(f"{origin}: {what} is {type(obj).__name__}, not a persisted NVlabs network")
    if obj.class_name != class_name:
        raise CheckpointError(f"{origin}: {what} is a {obj.class_name!r}, expected {class_name!r}")
    return obj


def _child(obj: PersistentObject, name: str, origin: str, what: str) -> PersistentObject:
    c = obj.child(name)
    if c is None:
        raise CheckpointError(f"{origin}: {what} has no {name!r} sub-network")
    return c


def _int(obj: PersistentObject, name: str, origin: str) -> int:
    value = obj.attr(name)
    if not isinstance(value, (int, np.integer)):
        raise CheckpointError(f"{origin}: the {obj.class_name} records no integer {name!r} (got {value!r})")
    return int(value)


def _is_stylegan3(G: PersistentObject) -> bool:
    syn = G.child("synthesis")
    names = list(syn.children()) if syn is not None else []
    return "input" in names or any(re.match(r"L\d+_", n) for n in names)


def infer_config(G: PersistentObject, D: PersistentObject, origin: str) -> StyleGAN2Config:
    """StyleGAN2Config from the recorded constructor arguments, attributes and weight shapes."""
    if _is_stylegan3(G):
        raise CheckpointError(f"{origin}: StyleGAN3 synthesis is not supported; only StyleGAN2 configs of "
                              "stylegan3 repo (--cfg=stylegan2) and stylegan2-ada-pytorch pickles can be imported")
    kw = G.init_kwargs
    c_dim = int(G.attr("c_dim", 0) or 0)
    if c_dim or int(D.attr("c_dim", 0) or 0):
        raise CheckpointError(f"{origin}: conditional networks (c_dim={c_dim}) are not supported")
    z_dim, w_dim = _int(G, "z_dim", origin), _int(G, "w_dim", origin)
    resolution, img_channels = _int(G, "img_resolution", origin), _int(G, "img_channels", origin)
    mapping = _child(G, "mapping", origin, "G")
    mkw = dict(kw.get("mapping_kwargs") or {})
    num_layers = int(mapping.attr("num_layers", mkw.get("num_layers", 8)))
    fc0 = _child(mapping, "fc0", origin, "G.mapping")
    lr_mul = float(fc0.attr("bias_gain", mapping.init_kwargs.get("lr_multiplier", 0.01)))
    if fc0.attr("activation", "lrelu") != "lrelu":
        raise CheckpointError(f"{origin}: mapping activation {fc0.attr('activation')!r} is not supported")

    syn = _child(G, "synthesis", origin, "G")
    g_tensors = G.tensors()
    channels = {}
    for res in [2 ** i for i in range(2, int(np.log2(resolution)) + 1)]:
        block = _child(syn, f"b{res}", origin, "G.synthesis")
        arch = block.attr("architecture", "skip")
        if arch != "skip":
            raise CheckpointError(f"{origin}: synthesis architecture {arch!r} is not supported (only 'skip')")
        key = f"synthesis.b{res}.conv1.weight"
        if key not in g_tensors:
            raise CheckpointError(f"{origin}: G lacks {key}")
        channels[res] = int(g_tensors[key].shape[0])
        taps = list(block.init_kwargs.get("resample_filter", [1, 3, 3, 1]))
        if taps != [1, 3, 3, 1]:
            raise CheckpointError(f"{origin}: resample_filter {taps} is not supported (only [1, 3, 3, 1])")
    d_tensors = D.tensors()
    d_channels = {}
    for res in [2 ** i for i in range(int(np.log2(resolution)), 2, -1)]:
        block = _child(D, f"b{res}", origin, "D")
        arch = block.attr("architecture", "resnet")
        if arch != "resnet":
            raise CheckpointError(f"{origin}: discriminator architecture {arch!r} is not supported (only 'resnet')")
        key = f"b{res}.conv0.weight"
        if key not in d_tensors:
            raise CheckpointError(f"{origin}: D lacks {key}")
        d_channels[res] = int(d_tensors[key].shape[0])
    epi = _child(D, "b4", origin, "D")
    if "b4.conv.weight" not in d_tensors:
        raise CheckpointError(f"{origin}: D lacks b4.conv.weight")
    d_channels[4] = int(d_tensors["b4.conv.weight"].shape[0])
    if d_channels != channels:
        raise CheckpointError(f"{origin}: generator channels {channels} differ from discriminator channels "
                              f"{d_channels}; gandistill teachers share one table")
    mbstd = epi.child("mbstd")
    if mbstd is None:
        raise CheckpointError(f"{origin}: discriminator without minibatch-stddev layer is not supported")
    group = mbstd.attr("group_size", 4)
    if group is None or int(mbstd.attr("num_channels", 1)) != 1:
        raise CheckpointError(f"{origin}: minibatch stddev with group_size={group}, num_channels="
                              f"{mbstd.attr('num_channels')} is not supported (need a group size and 1 channel)")
    try:
        return StyleGAN2Config(resolution=resolution, img_channels=img_channels, z_dim=z_dim, w_dim=w_dim,
                               mapping_layers=num_layers, mapping_lr_mul=lr_mul, mbstd_group=int(group),
                               **channel_fields(channels))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{origin}: unsupported architecture ({exc})") from exc


NOISE: Any = lambda s: s[2:]  # noqa: E731  ours (1, 1, R, R) ↔ NVlabs (R, R)
SYN_LAYER = {  # our StyledConv suffix → NVlabs SynthesisLayer suffix
    "conv.weight": ("weight", SAME),
    "conv.affine.weight": ("affine.weight", SAME),
    "conv.affine.bias": ("affine.bias", SAME),
    "noise_strength": ("noise_strength", SAME),
    "noise_const": ("noise_const", NOISE),
    "bias": ("bias", SAME),
}
TO_RGB = {"conv.weight": ("weight", SAME), "conv.affine.weight": ("affine.weight", SAME),
          "conv.affine.bias": ("affine.bias", SAME), "bias": ("bias", SAME)}


def generator_rules(cfg: StyleGAN2Config) -> list[Rule]:
    rules: list[Rule] = [("mapping.w_avg", "mapping.w_avg", SAME)]
    for i in range(cfg.mapping_layers):
        rules += [(f"mapping.layers.{i}.{p}", f"mapping.fc{i}.{p}", SAME) for p in ("weight", "bias")]
    for b, res in enumerate(cfg.resolutions):
        ours, theirs = f"synthesis.blocks.{b}", f"synthesis.b{res}"
        if b == 0:
            rules.append((f"{ours}.const", f"{theirs}.const", SAME))
        for conv in (("conv1",) if b == 0 else ("conv0", "conv1")):
            rules += [(f"{ours}.{conv}.{a}", f"{theirs}.{conv}.{n}", r) for a, (n, r) in SYN_LAYER.items()]
        rules += [(f"{ours}.torgb.{a}", f"{theirs}.torgb.{n}", r) for a, (n, r) in TO_RGB.items()]
    return rules


def discriminator_rules(cfg: StyleGAN2Config) -> list[Rule]:
    top = cfg.resolution
    rules: list[Rule] = [(f"fromrgb.{p}", f"b{top}.fromrgb.{p}", SAME) for p in ("weight", "bias")]
    for j, res in enumerate(r for r in reversed(cfg.resolutions) if r > 4):
        rules += [(f"blocks.{j}.{conv}.{p}", f"b{res}.{conv}.{p}", SAME)
                  for conv in ("conv0", "conv1") for p in ("weight", "bias")]
        rules.append((f"blocks.{j}.skip.weight", f"b{res}.skip.weight", SAME))
    for ours, theirs in (("conv", "b4.conv"), ("fc", "b4.fc"), ("out", "b4.out")):
        rules += [(f"{ours}.{p}", f"{theirs}.{p}", SAME) for p in ("weight", "bias")]
    return rules


def _filters(tensors: dict[str, torch.Tensor], cfg: StyleGAN2Config) -> dict[str, torch.Tensor]:
    """Every ``resample_filter`` buffer, paired with the value our [1,3,3,1] setup implies."""
    want = make_fir_kernel(cfg.blur_kernel)  # NVlabs normalises to sum 1 and applies gains at run time
    out = {}
    for key, t in tensors.items():
        if key.endswith("resample_filter"):
            out[key] = want if t.ndim == 2 else torch.tensor(cfg.blur_kernel, dtype=torch.float32) / sum(cfg.blur_kernel)
    return out


def teacher_from_nvlabs(data: Any, which: str = "g_ema", origin: str = "pickle") -> Teacher:
    if which not in ("g_ema", "g"):
        raise CheckpointError(f"which must be 'g_ema' or 'g', got {which!r}")
    if not isinstance(data, dict):
        raise CheckpointError(f"{origin} holds a {type(data).__name__}, not an NVlabs snapshot dict "
                              "(expected keys G, D, G_ema)")
    gkey = "G_ema" if which == "g_ema" else "G"
    for key in (gkey, "D"):
        if key not in data or data[key] is None:
            raise CheckpointError(f"{origin} has no {key!r} network (it has {sorted(map(str, data))})")
    G = _require(data[gkey], gkey, origin, "Generator")
    D = _require(data["D"], "D", origin, "Discriminator")
    cfg = infer_config(G, D, origin)
    teacher = Teacher(cfg)
    g_src, d_src = G.tensors(), D.tensors()
    has_w_avg = "mapping.w_avg" in g_src
    if not has_w_avg:  # w_avg_beta=None: no running mean recorded
        g_src = {**g_src, "mapping.w_avg": torch.zeros(cfg.w_dim)}
    syn = _child(G, "synthesis", origin, gkey)
    for b, res in enumerate(cfg.resolutions):  # layers built with use_noise=False add no noise
        for conv in (("conv1",) if b == 0 else ("conv0", "conv1")):
            layer = _child(syn, f"b{res}", origin, gkey).child(conv)
            if layer is not None and not layer.attr("use_noise", True):
                g_src[f"synthesis.b{res}.{conv}.noise_strength"] = torch.zeros([])
                g_src[f"synthesis.b{res}.{conv}.noise_const"] = torch.zeros(res, res)
    apply_rules(teacher.G, g_src, generator_rules(cfg), f"{origin}[{gkey!r}]", ignore=_filters(g_src, cfg))
    apply_rules(teacher.D, d_src, discriminator_rules(cfg), f"{origin}['D']", ignore=_filters(d_src, cfg))
    notes: list[str] = []
    if not has_w_avg:
        estimate_w_avg(teacher.G)
        notes.append("no mapping.w_avg in the pickle: w_avg estimated from 10,000 seeded z's")
    clamp = G.attr("synthesis_kwargs", {}) or {}
    clamp = clamp.get("conv_clamp", G.init_kwargs.get("conv_clamp"))
    if clamp is not None:
        notes.append(f"conv_clamp={clamp} is not reproduced (inactive at ordinary activation magnitudes)")
    teacher.import_notes = notes  # type: ignore[attr-defined]
    return teacher


def load_nvlabs_pickle(path: str | Path, which: str = "g_ema") -> Teacher:
    """An NVlabs network pickle as a Teacher: ``which`` "g_ema" → G_ema, "g" → G; D → D."""
    return teacher_from_nvlabs(read_nvlabs_pickle(path), which=which, origin=str(path))
