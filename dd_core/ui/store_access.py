"""Run-store access for the pages: the store of this data home, cached run lists, submit, reap."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from dd_core.paths import data_home
from dd_core.runs.store import RunStore


@st.cache_resource(show_spinner=False)
def _store_for(home: str) -> RunStore:
    return RunStore(Path(home) / "runs.sqlite3")


def get_store() -> RunStore:
    """The run store of the current data home (one per process and data home)."""
    return _store_for(str(data_home()))


NO_SWEEP = "none"  # list_runs(sweep=NO_SWEEP): the runs of no sweep


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=64)
def _list_runs(home: str, kind, status, limit, sweep=None) -> list[dict]:
    if sweep == NO_SWEEP:
        return _store_for(home).list_runs(kind=kind, status=status, in_sweep=False, limit=limit)
    return _store_for(home).list_runs(kind=kind, status=status, sweep_id=sweep, limit=limit)


def list_runs(kind=None, status=None, limit: int | None = 200, sweep: int | str | None = None) -> list[dict]:
    """``store.list_runs`` cached for one second (pages that list runs rerun often while a run goes); ``sweep``: a
    sweep's id (its runs only), ``NO_SWEEP`` (the runs of none) or None (every run)."""
    norm = lambda v: tuple(v) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return _list_runs(str(data_home()), norm(kind), norm(status), limit, sweep)


def invalidate() -> None:
    """Forget cached run lists (after this session changed the store: submit, cancel, delete)."""
    _list_runs.clear()


def submit_and_watch(cfg) -> None:
    """Queue ``cfg`` (starting a worker if none runs), remember its id in the URL and rerun the whole page;
    a refused config shows its reason instead."""
    from dd_core.errors import DDError
    from dd_core.runs.worker import submit

    try:
        run_id = submit(get_store(), cfg)
    except DDError as err:
        from .messages import ui_message

        st.error(ui_message(str(err)))
        return
    invalidate()
    st.query_params["run"] = str(run_id)
    st.rerun(scope="app")


def reap_now() -> None:
    """Mark runs whose worker died as interrupted (at most every 5 s per session)."""
    last = st.session_state.get("_reaped_at", 0.0)
    if time.time() - last > 5:
        st.session_state["_reaped_at"] = time.time()
        get_store().reap()


def kick_worker(run: dict) -> None:
    """A queued run with no worker on its device (e.g. the worker was killed): start one (rate-limited)."""
    if run["status"] != "queued" or time.time() - run["created_at"] < 3:
        return
    last = st.session_state.get("_kicked_at", 0.0)
    if time.time() - last < 10:
        return
    st.session_state["_kicked_at"] = time.time()
    from dd_core.runs.worker import ensure_worker

    ensure_worker(get_store(), run["device"] or "cpu")
