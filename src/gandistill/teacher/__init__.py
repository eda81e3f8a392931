"""StyleGAN2 teacher: networks, training engine and sampling."""
from .config import StyleGAN2Config
from .discriminator import Discriminator
from .generator import Generator
from .model import Teacher

__all__ = ["StyleGAN2Config", "Generator", "Discriminator", "Teacher"]
