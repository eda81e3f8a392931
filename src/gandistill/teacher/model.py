"""A teacher model directory: the EMA generator ``G`` and the discriminator ``D`` together.

KDIT and GPD initialise students from both networks, so they travel as one directory.
"""
from __future__ import annotations

import torch.nn as nn

from ..io.pretrained import PretrainedMixin
from ..io.registry import register_model
from .config import StyleGAN2Config
from .discriminator import Discriminator
from .generator import Generator
from .projected_discriminator import ProjectedDiscriminator


def make_discriminator(cfg: StyleGAN2Config) -> Discriminator | ProjectedDiscriminator:
    """The discriminator named by ``cfg.d_arch`` (a projected D still needs ``load_backbone()`` to train)."""
    return ProjectedDiscriminator(cfg) if cfg.d_arch == "projected" else Discriminator(cfg)


def stylegan2_part(D: Discriminator | ProjectedDiscriminator) -> Discriminator:
    """The StyleGAN2 discriminator in a teacher's D (D itself, or a projected D's pixel discriminator): what
    initialises D-shaped encoders and what the freezing options address."""
    return D.pixel_d if isinstance(D, ProjectedDiscriminator) else D


@register_model(kind="teacher", loader="gandistill.Teacher")
class Teacher(PretrainedMixin, nn.Module):
    config_class = StyleGAN2Config
    components = {"Generator": "G.", "Discriminator": "D."}

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.config = cfg
        self.G = Generator(cfg)
        self.D = make_discriminator(cfg)
        # Discriminator.from_pretrained / ProjectedDiscriminator.from_pretrained find D under "D."
        self.components = {"Generator": "G.", type(self.D).__name__: "D."}

    @classmethod
    def from_networks(cls, G: Generator, D: Discriminator | ProjectedDiscriminator) -> "Teacher":
        t = cls(G.config)
        t.G.load_state_dict(G.state_dict())
        t.D.load_state_dict(D.state_dict())
        return t
