"""gandistill: distil pretrained GANs into fast conditional image translators with limited data.

The main stages and facades are importable from here; they are loaded lazily on first use, so
``import gandistill`` (and ``gandistill data toyfaces``) does not pay for importing torch::

    from gandistill import sample, KDITStudent, GPDStudent, TripletSampler, Teacher
    from gandistill import train_teacher, distill, finetune, adapt, compute_anchors, evaluate, import_checkpoint

See ``gandistill.api`` and docs/quickstart.md.
"""
from __future__ import annotations

from .lazy_exports import export_lazily

__version__ = "0.1.0"

# public name → (module, attribute in that module)
_EXPORTS = {
    # facades (gandistill.api)
    "sample": (".api", "sample"),
    "KDITStudent": (".api", "KDITStudent"),
    "GPDStudent": (".api", "GPDStudent"),
    "distill": (".api", "distill"),
    "load_images": (".api", "load_images"),
    # teacher
    "Teacher": (".teacher.model", "Teacher"),
    "Generator": (".teacher.generator", "Generator"),
    "StyleGAN2Config": (".teacher.config", "StyleGAN2Config"),
    "train_teacher": (".teacher.train", "train_teacher"),
    "TeacherTrainConfig": (".teacher.train_config", "TeacherTrainConfig"),
    "import_checkpoint": (".importers", "import_checkpoint"),
    # KDIT
    "TripletSampler": (".kdit.triplets", "TripletSampler"),
    "KDITDistillConfig": (".kdit.distill", "DistillConfig"),
    "kdit_distill": (".kdit.distill", "distill"),
    "finetune": (".kdit.finetune", "finetune"),
    "FinetuneConfig": (".kdit.finetune", "FinetuneConfig"),
    # GPD
    "adapt": (".gpd.adapt", "adapt"),
    "AdaptConfig": (".gpd.config", "AdaptConfig"),
    "compute_anchors": (".gpd.anchor_projection", "compute_anchors"),
    "AnchorsConfig": (".gpd.config", "AnchorsConfig"),
    "GPDDistillConfig": (".gpd.config", "GPDDistillConfig"),
    "gpd_distill": (".gpd.distill", "distill"),
    # data (face alignment needs the optional dlib-bin + face-recognition-models)
    "align_face": (".data.align", "align_face"),
    "align_folder": (".data.align", "align_folder"),
    # metrics
    "evaluate": (".metrics.evaluate", "evaluate"),
    # errors
    "GandistillError": (".errors", "GandistillError"),
    "DataError": (".errors", "DataError"),
    "CheckpointError": (".errors", "CheckpointError"),
}

__all__ = export_lazily(__name__) + ["__version__"]
