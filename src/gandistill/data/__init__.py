"""Datasets: image folders, paired folders, label maps, audio clips, the procedural ``toyfaces``, face alignment.

Names are imported lazily so that ``gandistill data toyfaces`` does not pay for importing torch.
"""
from __future__ import annotations

from ..lazy_exports import export_lazily

# public name → (module, attribute in that module)
_EXPORTS = {
    "ImageFolderDataset": (".folder", "ImageFolderDataset"),
    "to_tensor": (".folder", "to_tensor"),
    "PairedImageDataset": (".paired", "PairedImageDataset"),
    "DatasetSummary": (".summary", "DatasetSummary"),
    "validate": (".validation", "validate"),
    "load_image": (".images", "load_image"),
    "list_images": (".images", "list_images"),
    "resize_square": (".images", "resize_square"),
    "SUPPORTED_EXTENSIONS": (".images", "SUPPORTED_EXTENSIONS"),
    "DEFAULT_MAX_PIXELS": (".images", "DEFAULT_MAX_PIXELS"),
    "load_label_map": (".labels", "load_label_map"),
    "resize_label": (".labels", "resize_label"),
    "load_wav": (".audio", "load_wav"),
    "read_wav": (".audio", "read_wav"),
    "write_wav": (".audio", "write_wav"),
    "read_metadata": (".metadata", "read_metadata"),
    "METADATA_FILE": (".metadata", "METADATA_FILE"),
    "ToyFaceParams": (".toyfaces", "ToyFaceParams"),
    "sample_params": (".toyfaces", "sample_params"),
    "render": (".toyfaces", "render"),
    "generate_toyfaces": (".toyfaces", "generate_toyfaces"),
    "toyfaces_arrays": (".toyfaces", "toyfaces_arrays"),
    "SEG_CLASSES": (".toyfaces", "SEG_CLASSES"),
    "seg_to_rgb": (".toyfaces", "seg_to_rgb"),
    "align_face": (".align", "align_face"),
    "align_folder": (".align", "align_folder"),
    "detect_landmarks": (".align", "detect_landmarks"),
}

__all__ = export_lazily(__name__)
