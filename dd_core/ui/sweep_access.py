"""The sweeps of the run store for the Sweep page: ``list_sweeps`` cached for a second, and forgetting it (with the
run lists) after this session changed the store."""

from __future__ import annotations

import streamlit as st

from dd_core.paths import data_home

from . import store_access


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=16)
def _list_sweeps(home: str) -> list[dict]:
    from dd_core.runs.sweeps import list_sweeps as sweeps_of

    return sweeps_of(store_access.get_store())


def list_sweeps() -> list[dict]:
    """``runs.sweeps.list_sweeps`` of this data home (newest first), cached for one second like the run lists."""
    return _list_sweeps(str(data_home()))


def invalidate() -> None:
    """Forget the cached sweep and run lists (after a start, a stop or a resume)."""
    _list_sweeps.clear()
    store_access.invalidate()
