"""GPD anchors: every real training example gets a latent ``w_a`` in W+ (``gandistill gpd anchors``).

    gandistill gpd anchors --adapted runs/adapt/model --data data/pairs10 --steps 300
        paired data (A/ source photos, B/ targets): A is projected into G_T;
        target-only data (a folder of images): the images are projected into G_target and the
        source side of the real pair becomes G_T(w_a).

The file (``anchors.safetensors``) holds ``ws`` [A, num_ws, w_dim], the real pair ``x``/``y`` and the
generated twin ``x_gen = G_T(w_a)``, ``y_gen = G_target(w_a)``; ``anchors.json`` beside it reports the
projection quality.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError, DataError, GandistillError, GandistillWarning
from ..io.atomic import atomic_path, atomic_write_text
from ..io.pretrained import model_hash, read_model_config, recorded_parent_dir
from ..teacher import Teacher
from ..utils.dist import resolve_device
from ..utils.images import save_labelled_grid, to_float
from .common import ANCHORS_FILE, NOISE_MODE
from .config import AnchorsConfig
from .project import project
from .targets import holds_pairs, load_pairs, load_targets


@dataclass
class Anchors:
    ws: torch.Tensor               # [A, num_ws, w_dim]
    x: torch.Tensor                # real (or G_T-rendered, target-only mode) source images, [-1, 1]
    y: torch.Tensor                # real target images, [-1, 1]
    names: list[str] = field(default_factory=list)
    mode: str = "paired"
    quality: dict = field(default_factory=dict)
    made_from: dict = field(default_factory=dict)  # weights hashes of the models it was projected with

    def __len__(self) -> int:
        return len(self.ws)

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"mode": self.mode, "names": json.dumps(self.names), "quality": json.dumps(self.quality),
                "extra": json.dumps(extra or {})}
        with atomic_path(path) as tmp:
            save_file({"ws": self.ws.detach().cpu().contiguous(), "x": self.x.detach().cpu().contiguous(),
                       "y": self.y.detach().cpu().contiguous()}, str(tmp), metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path, adapted: str | Path | None = None) -> "Anchors":
        """The anchors in ``path``; with ``adapted`` (the model directory they are used with), one warning
        when the file records other adapted weights (see :meth:`warn_if_stale`)."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"anchors file {path} does not exist; create it with `gandistill gpd anchors`")
        from safetensors import safe_open

        try:
            tensors = load_file(str(path))
            with safe_open(str(path), "pt") as fh:
                meta = fh.metadata() or {}
        except Exception as exc:
            raise CheckpointError(f"cannot read anchors file {path}: {exc}") from exc
        missing = {"ws", "x", "y"} - set(tensors)
        if missing:
            raise CheckpointError(f"{path} is not an anchors file (missing {sorted(missing)})")
        made_from = json.loads(meta.get("extra", "{}"))
        anchors = cls(tensors["ws"], tensors["x"], tensors["y"], json.loads(meta.get("names", "[]")),
                      meta.get("mode", "paired"), json.loads(meta.get("quality", "{}")),
                      made_from if isinstance(made_from, dict) else {})
        if adapted is not None:
            anchors.warn_if_stale(path, adapted)
        return anchors

    def warn_if_stale(self, path: str | Path, adapted: str | Path) -> None:
        """Warn when these anchors were projected with other weights than ``adapted`` holds (a re-run or resumed
        ``gpd adapt``, or another run's file): a warning, since after a resume they still fit approximately.
        Files that record no hash (older ones) pass."""
        recorded = self.made_from.get("adapted")
        if not recorded:
            return
        have = model_hash(adapted, memo=True)
        if have != recorded:
            warnings.warn(f"{path} was projected with adapted weights {recorded[:12]}…, but {adapted} holds "
                          f"{have[:12]}… (re-adapted or resumed since?), so its anchor pairs fit only approximately; "
                          f"re-run `gandistill gpd anchors --adapted {adapted} --data <the anchor images>` and pass "
                          "that file as --anchors", GandistillWarning, stacklevel=3)


def load_generators(adapted: str | Path, teacher: str | None = None, device="cpu") -> tuple[Teacher, Teacher]:
    """(source teacher, adapted model) as Teacher containers (G and D), checked to belong together."""
    tdir = recorded_parent_dir(adapted, teacher, role="teacher")  # also checks the recorded hash
    source = Teacher.from_pretrained(tdir).to(device).eval().requires_grad_(False)
    target = Teacher.from_pretrained(adapted).to(device).eval().requires_grad_(False)
    return source, target


def compute_anchors(cfg: AnchorsConfig, progress: bool = True) -> Path:
    """Project the real examples and write the anchors file (+ report and grid); returns its path."""
    if not cfg.adapted or not cfg.data:
        raise GandistillError("gpd anchors needs --adapted (model directory) and --data (paired or target folder)")
    device = resolve_device(cfg.device)
    progress = progress and cfg.progress
    source, target = load_generators(cfg.adapted, cfg.teacher, device)
    res, ch = source.config.resolution, source.config.img_channels
    data = Path(cfg.data)
    mode = cfg.mode
    if mode == "auto":
        mode = "paired" if holds_pairs(data) else "target"
    if mode == "paired":
        x_u8, y_u8, names = load_pairs(data, res, ch)
        x, y = to_float(x_u8), to_float(y_u8)
        ws, quality = project(source.G, x, cfg, D=source.D, progress=progress)
        ws = ws.cpu()
    elif mode == "target":
        y_u8, names = load_targets(data, res, ch, max_targets=None, what="anchor data folder", option="--data")
        y = to_float(y_u8)
        ws, quality = project(target.G, y, cfg, D=target.D, progress=progress)
        ws = ws.cpu()
        with torch.no_grad():
            x = source.G.synthesis(ws.to(device), noise_mode=NOISE_MODE).cpu()
    else:
        raise DataError(f"unknown anchors mode {cfg.mode!r}")
    anchors = Anchors(ws, x, y, names, mode, quality)
    path = Path(cfg.out) if cfg.out else Path(cfg.adapted).resolve().parent / ANCHORS_FILE
    anchors.save(path, extra={"adapted": read_model_config(cfg.adapted).get("sha256"),
                                    "teacher": source.source_hash})
    report = {"mode": mode, "names": names, "projected_into": "G_T" if mode == "paired" else "G_target",
              "steps": cfg.steps, "quality": quality}
    atomic_write_text(path.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    with torch.no_grad():
        x_gen = source.G.synthesis(ws.to(device), noise_mode=NOISE_MODE).cpu()
        y_gen = target.G.synthesis(ws.to(device), noise_mode=NOISE_MODE).cpu()
    first = "real A (source)" if mode == "paired" else "G_T(w_a)"
    save_labelled_grid([x, x_gen, y_gen, y], [first, "G_T(w_a)", "G_target(w_a)", "real B (target)"
                                               if mode == "paired" else "real target"],
                       path.with_suffix(".png"), scale=max(1, 64 // res), col_labels=names)
    print(f"anchors: {len(ws)} ({mode}, projected into {report['projected_into']}); mean PSNR "
          f"{quality['mean_psnr']:.2f} dB, mean L1 {quality['mean_l1']:.4f} → {path}")
    return path
