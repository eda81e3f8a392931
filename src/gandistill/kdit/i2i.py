"""I2I student (KDIT paper Fig. 2b): E_S (content), E_R (reference) and G_S.

    student = I2IStudent.from_teacher(teacher)                 # E_S, E_R ← D_T; G_S ← G_T synthesis
    y_hat = student(x1, x2, k=6)                               # x1's structure, x2's appearance
    y_hat = student(seg_onehot, None)                          # appearance drawn from the teacher's mapping

Ours: E_S and E_R are D_T trunks with a ws head that starts at ``w_avg``; E_S's trunk features
enter G_S after the two convs of the block of the same resolution, before its toRGB, through
zero-initialised 1×1 adaptors, so at step 0 G_S(ws) ≡ G_T.synthesis(ws). For segmentation
input E_S's first layer takes the one-hot map (random init); the rest comes from D_T.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import DataError
from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from ..teacher.generator import MappingNetwork, SynthesisNetwork, mix_ws
from ..teacher.layers import NoiseMode
from ..teacher.model import Teacher
from .config import I2IConfig
from .nets import DTrunk, WsHead, zero_adaptor


class WEncoder(nn.Module):
    """D_T trunk + ws head: image (or one-hot map) → (trunk features, ws)."""

    def __init__(self, cfg: I2IConfig, in_channels: int | None = None):
        super().__init__()
        t = cfg.teacher
        self.trunk = DTrunk(t, in_channels)
        self.head = WsHead(t.ch(4) * 16, t.num_ws, t.w_dim, cfg.head_hidden)

    def forward(self, x: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        feats = self.trunk(x)
        return feats, self.head(feats[4])


@register_model(kind="kdit-i2i", loader="gandistill.KDITStudent")
class I2IStudent(PretrainedMixin, nn.Module):
    config_class = I2IConfig

    def __init__(self, cfg: I2IConfig):
        super().__init__()
        self.config = cfg
        t = cfg.teacher
        self.num_ws, self.resolution = t.num_ws, t.resolution
        self.E_S = WEncoder(cfg, cfg.num_classes if cfg.input == "seg" else t.img_channels)
        self.E_R = WEncoder(cfg)
        self.synthesis = SynthesisNetwork(t)
        res = cfg.adaptor_res if cfg.adaptor_res is not None else t.resolutions
        self.adaptors = nn.ModuleDict({str(r): zero_adaptor(t.ch(r), t.ch(r)) for r in res})
        # The teacher's mapping network, frozen: appearance from noise when no reference is given.
        self.mapping = MappingNetwork(t.z_dim, t.w_dim, t.num_ws, t.mapping_layers, t.mapping_lr_mul)
        self.mapping.requires_grad_(False)

    @classmethod
    def from_teacher(cls, teacher: Teacher, **overrides) -> "I2IStudent":
        model = cls(I2IConfig(teacher=teacher.config, **overrides))
        model.load_teacher(teacher)
        return model

    @torch.no_grad()
    def load_teacher(self, teacher: Teacher) -> None:
        for enc in (self.E_S, self.E_R):
            enc.trunk.load_from_discriminator(teacher.D)
            enc.head.w_avg.copy_(teacher.G.mapping.w_avg)
        self.synthesis.load_state_dict(teacher.G.synthesis.state_dict())
        self.mapping.load_state_dict(teacher.G.mapping.state_dict())

    @property
    def default_k(self) -> int:
        return self.config.k if self.config.k is not None else self.num_ws // 2

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """Images pass through; label maps [N, H, W] (int) become one-hot [N, num_classes, H, W] in [-1, 1]."""
        if self.config.input != "seg":
            return x
        if x.dtype.is_floating_point:
            if x.ndim == 4 and x.shape[1] == self.config.num_classes:
                return x  # already one-hot
            raise DataError(f"segmentation input must be integer labels [N, H, W] or one-hot "
                            f"[N, {self.config.num_classes}, H, W], got {x.dtype} {list(x.shape)}")
        if x.ndim != 3:
            raise DataError(f"label maps must be [N, H, W] integers, got shape {list(x.shape)}")
        bad = (x < 0) | (x >= self.config.num_classes)
        if bad.any():
            raise DataError(f"label map contains label {int(x[bad].max())} but the model has num_classes="
                            f"{self.config.num_classes} (valid labels 0..{self.config.num_classes - 1})")
        return F.one_hot(x.long(), self.config.num_classes).permute(0, 3, 1, 2).float() * 2 - 1

    def _check_image(self, img: torch.Tensor, what: str) -> None:
        want = (self.config.teacher.img_channels, self.resolution, self.resolution)
        if img.ndim != 4 or tuple(img.shape[1:]) != want:
            raise DataError(f"{what} must be [N, {want[0]}, {want[1]}, {want[2]}] (the model's resolution is "
                            f"{self.resolution}), got {list(img.shape)}; resize it first")

    def forward(self, x: torch.Tensor, ref: torch.Tensor | None = None, k: int | torch.Tensor | None = None,
                noise_mode: NoiseMode = "const", ws_content: torch.Tensor | None = None,
                ws_ref: torch.Tensor | None = None, z_ref: torch.Tensor | None = None,
                return_aux: bool = False):
        """Translate ``x`` with the appearance of ``ref`` (or of ``z_ref``/random noise through the
        teacher mapping). ``ws_content``/``ws_ref`` override the encoders' predictions."""
        x = self.prepare_input(x)
        if self.config.input != "seg":
            self._check_image(x, "input")
        feats_s, ws_s = self.E_S(x)
        n = x.shape[0]
        feats_r = None
        if ref is not None:
            self._check_image(ref, "reference")
            if ref.shape[0] != n:
                raise DataError(f"got {n} inputs but {ref.shape[0]} references; pass one reference per input")
            feats_r, ws_r = self.E_R(ref)
        else:
            z = z_ref if z_ref is not None else torch.randn(n, self.config.teacher.z_dim, device=x.device)
            ws_r = self.mapping(z)
        k = self.default_k if k is None else k
        ws = mix_ws(ws_content if ws_content is not None else ws_s, ws_ref if ws_ref is not None else ws_r, k)
        img, gfeats = self.synthesize(ws, feats_s, noise_mode)
        if return_aux:
            return img, {"ws_s": ws_s, "ws_r": ws_r, "feats_s": feats_s, "feats_r": feats_r, "gen_feats": gfeats}
        return img

    def synthesize(self, ws: torch.Tensor, feats: dict[int, torch.Tensor], noise_mode: NoiseMode = "const"):
        """G_T's synthesis with E_S features added before each block's toRGB (mirrors SynthesisBlock)."""
        x = img = None
        out = []
        for blk in self.synthesis.blocks:
            b = blk.index
            if b == 0:
                x = blk.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
            else:
                x = blk.conv0(x, ws[:, 2 * b - 1], noise_mode)
            x = blk.conv1(x, ws[:, 2 * b], noise_mode)
            key = str(blk.resolution)
            if key in self.adaptors:
                x = x + self.adaptors[key](feats[blk.resolution])
            img = blk.torgb(x, ws[:, 2 * b + 1], img)
            out.append(x)
        return img, out
