"""Widgets several pages share: the dataset-folder field, the status badge, the watched-run picker, ``?run=``."""

from __future__ import annotations

import streamlit as st

from .fmt import STATUS_COLOR, run_title
from .settings import dataset_path, save_setting, settings_path


def dataset_path_input(name: str, key: str, container=None) -> str | None:
    """For datasets read from a user folder: a remembered path field with the status (and fix) below it.
    Returns the path ('' → None). Other datasets: None, nothing drawn."""
    from dd_core.data import dataset_status
    from dd_core.data.registry import PATH_DATASETS

    if name not in PATH_DATASETS:
        return None
    c = container or st
    label = "MHIST folder" if name == "mhist" else "Image folder"
    helptext = (
        f"the folder holding annotations.csv and images/ (MHIST); remembered in {settings_path()}"
        if name == "mhist"
        else "one sub-folder of images per class (or train/ and test/ holding those); remembered"
    )
    value = c.text_input(
        label, value=dataset_path(name) or "", key=f"{key}.{name}.path", help=helptext, placeholder="/path/to/folder"
    ).strip()
    if value:
        save_setting("paths", name, value)
    s = dataset_status(name, path=value or None)
    if s.status == "missing":
        c.error(f"{s.detail}. **Fix:** {s.fix}")
    else:
        c.caption(f":material/check_circle: {s.detail}")
    return value or None


def status_badge(run: dict) -> None:
    st.badge(f"{run['status']}", icon=None, color=STATUS_COLOR.get(run["status"], "gray"))  # type: ignore[arg-type]


def watch_picker(runs: list[dict], run_id: int | None, key: str) -> int | None:
    """The 'Watching run' select over ``runs`` (``run_id`` added first when it is not among them). A new pick goes
    to the URL (``?run=``) and reruns the page. Returns the watched run id (``run_id`` itself when ``runs`` is empty);
    with ``run_id`` None nothing is picked until the user picks a run (None)."""
    if not runs:
        return run_id
    ids = [r["id"] for r in runs]
    if run_id is not None and run_id not in ids:
        ids.insert(0, run_id)
    labels = {r["id"]: run_title(r, with_status=False) for r in runs}
    pick = st.selectbox(
        "Watching run",
        ids,
        index=ids.index(run_id) if run_id in ids else None,
        format_func=lambda i: labels.get(i, f"#{i}"),
        key=f"{key}.{run_id}",
        placeholder="Pick a run to watch",
    )
    if pick is not None and pick != run_id:
        st.query_params["run"] = str(pick)
        st.rerun()
    return pick


def select_run_param(name: str = "run") -> int | None:
    """The run id in the URL (``?run=12``), or None."""
    v = st.query_params.get(name)
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None
