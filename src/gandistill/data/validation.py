"""``validate(dataset)``: decode every file of a dataset once and report all bad files together."""
from __future__ import annotations

from .folder import ImageFolderDataset
from .paired import PairedImageDataset
from .summary import DatasetSummary


def validate(dataset: ImageFolderDataset | PairedImageDataset, **kwargs) -> DatasetSummary:
    """Check every file of ``dataset``; raise one DataError listing all bad files, else return a summary.
    Keyword arguments go to the dataset's ``validate`` (e.g. ``num_classes`` for label maps)."""
    return dataset.validate(**kwargs)
