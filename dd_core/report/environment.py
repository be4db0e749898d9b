"""Where and when a report was made: the date, DistillLab's version, the device and its threads."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def version() -> str:
    """``dd_core.__version__`` when it exists, else the installed distribution's, else pyproject.toml's."""
    import dd_core

    found = getattr(dd_core, "__version__", None)
    if found:
        return str(found)
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        return dist_version("distilllab")
    except PackageNotFoundError:
        pass
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', PYPROJECT.read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "unknown"


def environment() -> dict:
    """{"date" (UTC, ISO), "version", "device", "threads", "torch"} of the machine making the report."""
    import torch

    from ..device import describe_device, pick_device

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": version(),
        "device": describe_device(pick_device()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__.split("+")[0],
    }
