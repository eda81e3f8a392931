"""A teacher model directory: the EMA generator ``G`` and the discriminator ``D`` together.

KDIT and GPD initialise students from both networks, so they travel as one directory.
"""
from __future__ import annotations

import torch.nn as nn

from ..io.pretrained import PretrainedMixin
from .config import StyleGAN2Config
from .discriminator import Discriminator
from .generator import Generator


class Teacher(PretrainedMixin, nn.Module):
    config_class = StyleGAN2Config
    components = {"Generator": "G.", "Discriminator": "D."}

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.config = cfg
        self.G = Generator(cfg)
        self.D = Discriminator(cfg)

    @classmethod
    def from_networks(cls, G: Generator, D: Discriminator) -> "Teacher":
        t = cls(G.config)
        t.G.load_state_dict(G.state_dict())
        t.D.load_state_dict(D.state_dict())
        return t
