"""Real datasets for DistillLab: registry, loaders and the ``RealData`` container.

    real = load_dataset("mnist-5k")          # RealData: train_images [4000,1,28,28] float32 normalised, ...
    real.sample_class(3, 64)                 # [64,1,28,28], 64 distinct random images of class 3
    dataset_status("fashion-mnist")          # DatasetStatus(status='available', detail=..., fix='')

Names: ``DATASETS``. Files live under ``dd_core.paths.datasets_dir()`` (torchvision layout) unless said otherwise.
"""
from .base import DatasetMeta, DatasetStatus, RealData
from .registry import DATASETS, clear_cache, dataset_info, dataset_status, load_dataset

__all__ = ["DATASETS", "DatasetMeta", "DatasetStatus", "RealData", "clear_cache", "dataset_info", "dataset_status",
           "load_dataset"]
