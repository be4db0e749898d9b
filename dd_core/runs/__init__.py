"""Runs: the SQLite run store shared by pages, workers and CLI runs, and the engine-event writer.

``RunStore`` (store.py) keeps runs, step metrics, evaluations, snapshots and phase progress; ``RunRecorder``
(recorder.py) turns engine events into batched store writes. The background worker lives in ``worker.py``.
"""

from .recorder import RunRecorder
from .store import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    KINDS,
    SOURCES,
    STATUSES,
    RunStore,
    RunStoreError,
    dumps,
    to_jsonable,
)

__all__ = [
    "RunStore",
    "RunStoreError",
    "RunRecorder",
    "KINDS",
    "SOURCES",
    "STATUSES",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "dumps",
    "to_jsonable",
]
