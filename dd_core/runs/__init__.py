"""Runs: the SQLite run store shared by pages, workers and CLI runs, and the engine-event writer.

``RunStore`` (store.py) keeps runs, step metrics, evaluations, snapshots and phase progress; ``repair_store`` rebuilds
a damaged store from the run folders; ``RunRecorder`` (recorder.py) turns engine events into batched store writes. The
background worker lives in ``worker.py``.
"""

from .recorder import RunRecorder
from .store import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    KINDS,
    SOURCES,
    STATUSES,
    DamagedStoreError,
    RunStore,
    RunStoreError,
    dumps,
    repair_store,
    to_jsonable,
)

__all__ = [
    "RunStore",
    "RunStoreError",
    "DamagedStoreError",
    "RunRecorder",
    "repair_store",
    "KINDS",
    "SOURCES",
    "STATUSES",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "dumps",
    "to_jsonable",
]
