"""Importers of foreign StyleGAN2 checkpoints into gandistill teachers (one layer above ``io``: they build
teacher networks, so they sit with the networks they fill).

    from gandistill.importers import import_checkpoint
    teacher = import_checkpoint("550000.pt", out="runs/teacher/model")

``auto`` recognises the format and dispatches; ``rosinality`` reads and writes rosinality
``stylegan2-pytorch`` ``.pt`` files; ``nvlabs_pickle`` reads NVlabs ``.pkl`` files without running them.
"""
from .auto import detect_format, import_checkpoint

__all__ = ["detect_format", "import_checkpoint"]
