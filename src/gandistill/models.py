"""Every model class a model directory can hold, registered: dispatch on a directory's class from here.

    from gandistill.models import load_model, resolve_model
    student = load_model("runs/ft/model", kinds=("kdit-i2i", "kdit-x2i"), what="a KDIT student")

Importing this module imports each module that defines a model class, so the registry of
:mod:`gandistill.io.registry` is complete (that module sits below the networks and cannot import them).
A new model class registers itself with ``@register_model`` and gets one import line here.
"""
from __future__ import annotations

from .gpd.networks import PatchDiscriminator, ResNetTranslator, UNetTranslator
from .io.registry import MODEL_CLASSES, classes_of_kind, load_model, model_class, resolve_model
from .kdit.i2i import I2IStudent
from .kdit.x2i import X2IStudent
from .teacher.discriminator import Discriminator
from .teacher.generator import Generator
from .teacher.model import Teacher
from .teacher.projected_discriminator import ProjectedDiscriminator

__all__ = ["MODEL_CLASSES", "Discriminator", "Generator", "I2IStudent", "PatchDiscriminator", "ProjectedDiscriminator",
           "ResNetTranslator", "Teacher", "UNetTranslator", "X2IStudent", "classes_of_kind", "load_model", "model_class",
           "resolve_model"]
