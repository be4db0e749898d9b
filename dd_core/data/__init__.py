"""Real datasets for DistillLab: registry, loaders and the ``RealData`` container.

    real = load_dataset("mnist-5k")          # RealData: train_images [4000,1,28,28] float32 normalised, ...
    real.sample_class(3, 64)                 # [64,1,28,28], 64 distinct random images of class 3
    dataset_status("fashion-mnist")          # DatasetStatus(status='available', detail=..., fix='')

Names: ``DATASETS``. Files live under ``dd_core.paths.datasets_dir()`` (torchvision layout) unless said otherwise.
Importing this package, ``dataset_status`` and ``dataset_info`` do not import PyTorch (the dashboard lists datasets
before PyTorch is loaded); ``load_dataset`` and ``RealData`` do.
"""

from .base import DatasetMeta, DatasetStatus
from .registry import DATASETS, clear_cache, dataset_fingerprint, dataset_info, dataset_status, load_dataset


def __getattr__(name: str):
    if name == "RealData":  # the tensor container: imports PyTorch on first use
        from .real import RealData

        return RealData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "DatasetMeta",
    "DatasetStatus",
    "RealData",
    "clear_cache",
    "dataset_fingerprint",
    "dataset_info",
    "dataset_status",
    "load_dataset",
]
