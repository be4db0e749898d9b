"""Where DistillLab keeps its data: the data home (``DD_HOME``, default ``~/.distilllab``)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path.home() / ".distilllab"


def data_home() -> Path:
    """The data home: ``$DD_HOME`` if set, else ``~/.distilllab``. Created on first use."""
    home = Path(os.environ.get("DD_HOME") or DEFAULT_HOME).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def datasets_dir() -> Path:
    """Downloaded / user-copied datasets live in ``<data home>/datasets`` (torchvision layout)."""
    d = data_home() / "datasets"
    d.mkdir(parents=True, exist_ok=True)
    return d
