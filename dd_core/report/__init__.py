"""The report of runs: one self-contained HTML file (``build_report``), slide-ready PNGs and each run's animated
GIF (``write_figures``, ``snapshots_gif``). Reads the run store; above ``runs``, below ``cli`` and ``ui``."""

from __future__ import annotations

from .build import build_report
from .gif import snapshots_gif

__all__ = ["build_report", "snapshots_gif"]
