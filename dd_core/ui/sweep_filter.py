"""The "Sweep" filter of Home and Compare (all runs, the runs of no sweep, one sweep's runs) and the sweep cell of a
run in their tables. Sweeps come from ``runs.sweeps.list_sweeps``; the filter is drawn only once a sweep exists."""

from __future__ import annotations

import streamlit as st

from dd_core.paths import data_home
from dd_core.runs.sweeps import list_sweeps

from .store_access import NO_SWEEP, get_store

ALL = "all"  # every run
NONE = NO_SWEEP  # the runs of no sweep (what store_access.list_runs takes)

SweepChoice = int | str | None  # a sweep id, NONE, or None (ALL: no filter)


@st.cache_data(ttl=2.0, show_spinner=False)
def _sweeps(home: str) -> list[dict]:
    return list_sweeps(get_store())


def sweep_filter(key: str, container=None, *, query_param: str | None = None) -> SweepChoice:
    """The "Sweep" selectbox in ``container`` (default: a narrow column; nothing while the store has no sweep):
    None for all runs, ``NONE`` for the runs of no sweep, else the sweep's id. ``query_param``: the choice is also
    kept in the page's address (``?sweep=3`` / ``?sweep=none``), so a link opens the page filtered."""
    sweeps = _sweeps(str(data_home()))
    if not sweeps:
        return None
    if container is None:
        container = st.columns([2, 3])[0]
    labels = {s["id"]: sweep_label(s) for s in sweeps}
    words = {ALL: "all runs", NONE: "not in a sweep"}
    options: list[int | str] = [ALL, NONE, *labels]
    start = from_query(st.query_params.get(query_param), options) if query_param else ALL
    choice = container.selectbox(
        "Sweep",
        options,
        index=options.index(start),
        format_func=lambda v: words[v] if isinstance(v, str) else labels.get(v, f"sweep #{v}"),
        key=key,
        help="Only the runs of one sweep (`python -m dd_core sweep`: each trial is a run), or only the runs of none.",
    )
    if query_param:
        if choice in (ALL, None):
            if query_param in st.query_params:
                del st.query_params[query_param]
        else:
            st.query_params[query_param] = str(choice)
    return None if choice in (ALL, None) else choice


def from_query(value: str | None, options: list[int | str]) -> int | str:
    """The option ``?sweep=VALUE`` names (``none`` or a sweep's id); ALL for anything else."""
    text = (value or "").strip().lstrip("#").lower()
    if text == NONE:
        return NONE
    return int(text) if text.isdigit() and int(text) in options else ALL


def sweep_label(sweep: dict) -> str:
    """``sweep #3 · dm, random · 8 trials · done`` (a row of ``list_sweeps``)."""
    n = sweep["n_trials"]
    methods = ", ".join(sweep["methods"]) or "no method"
    return f"sweep #{sweep['id']} · {methods} · {n} trial{'s' if n != 1 else ''} · {sweep['status']}"


def keep(run: dict, choice: SweepChoice) -> bool:
    """Whether ``run`` passes the filter's ``choice``."""
    if choice is None:
        return True
    if choice == NONE:
        return run.get("sweep_id") is None
    return run.get("sweep_id") == choice


def sweep_cell(run: dict) -> str:
    """``#3`` for a run of sweep 3, '' for the others."""
    return "" if run.get("sweep_id") is None else f"#{run['sweep_id']}"
