"""Sweep page: define a sweep (methods × a grid × seeds, each trial an ordinary run), preview its trials, start it
on Ray through the background worker, watch it live (``?sweep=ID``), stop or resume it, and read its results."""

from __future__ import annotations

import streamlit as st

from .boundary import safe
from .store_access import reap_now
from .sweep_access import list_sweeps

INTRO = (
    "A **sweep** runs every chosen method at every point of a grid (IPC values and up to two more settings) once "
    "per seed. Each trial is an ordinary run (it shows on the Distill, Gallery and Compare pages too); the trials "
    "run on [Ray](https://docs.ray.io), a local one on this machine unless you give a cluster's address, started "
    "by the background worker: you can leave the page and come back to the sweep."
)


@safe
def render() -> None:
    from . import sweep_report, sweep_watch
    from .sweep_form import form_fragment, ray_missing

    reap_now()
    st.title("Sweep")
    found = list_sweeps()
    if not found:
        st.info(INTRO, icon=":material/grid_view:")
    else:
        st.caption(INTRO)
    with st.expander("New sweep", icon=":material/add:", expanded=not found or sweep_watch.sweep_param() is None):
        form_fragment()
    if not found and sweep_watch.sweep_param() is None:
        return
    st.divider()
    sweep_id = sweep_watch.pick_sweep(found)
    if sweep_id is None:
        return
    watched = sweep_watch.watch(sweep_id, ray_missing())
    if watched and watched[0]:
        sweep_report.render(sweep_id, *watched)
