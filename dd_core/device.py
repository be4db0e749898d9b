"""Device choice: CUDA when present, else CPU; and a one-line description for the UI and JSON output."""
from __future__ import annotations

import os

import torch


def pick_device(name: str | None = None) -> torch.device:
    """``name`` = 'cpu' | 'cuda' | 'cuda:N' | None (auto: CUDA when available, overridable with ``DD_DEVICE``)."""
    name = name or os.environ.get("DD_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            from .errors import ConfigError
            raise ConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu")
        torch.backends.cudnn.benchmark = True
    return dev


def describe_device(dev: torch.device) -> str:
    """E.g. 'cuda:0 (NVIDIA H100)' or 'cpu (2 threads)'."""
    if dev.type == "cuda":
        return f"cuda:{dev.index or 0} ({torch.cuda.get_device_name(dev.index or 0)})"
    return f"cpu ({torch.get_num_threads()} threads)"
