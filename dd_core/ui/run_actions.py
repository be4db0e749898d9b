"""What a page does to a run besides watching it: delete it safely, and what a page shows or picks afterwards.

Delete is never drawn where Stop is: it sits in a collapsed "Danger zone" expander of its own and asks for
confirmation in a dialog that names the run. After a delete the page announces it ("Run #N deleted"), drops the run
from the URL and picks no other run for the user until they pick one. Imports neither PyTorch nor pandas (Home).
"""

from __future__ import annotations

import streamlit as st

from dd_core.runs.store import ACTIVE_STATUSES, RunStoreError

from .fmt import run_title
from .store_access import get_store, invalidate

CONFIRM_KEY = "_confirm_delete"  # (where, run id) of the delete confirmation that is open
DELETED_KEY = "_deleted_run"  # (id, title) of the run this session just deleted, announced once
NO_PICK_KEY = "_watch_none"  # after a delete: no run is picked for the user until they pick one


def danger_zone(run: dict, *, where: str) -> None:
    """'Delete run…' of a finished run, in a collapsed expander of its own (its label names the run, so another
    run's never opens in its place), behind a confirmation dialog that names the run."""
    if run["status"] in ACTIVE_STATUSES:
        return
    with st.expander(f"Danger zone · run #{run['id']}", icon=":material/warning:", expanded=False):
        st.caption("Deleting removes the run, its metrics, evaluations, snapshots and files.")
        if st.button("Delete run…", icon=":material/delete:", key=f"{where}-del-{run['id']}"):
            st.session_state[CONFIRM_KEY] = (where, run["id"])
    if st.session_state.get(CONFIRM_KEY) == (where, run["id"]):
        confirm_delete(run, where=where)


def _close_confirm() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


def confirm_delete(run: dict, *, where: str) -> None:
    """The confirmation dialog: names the run (its title), Delete / Cancel."""
    title = run_title(run, with_status=False)

    def body() -> None:
        st.markdown(f"**{title}**")
        st.write("Its metrics, evaluations, snapshots and files are removed. This cannot be undone.")
        c1, c2 = st.columns(2)
        if c1.button("Delete", type="primary", icon=":material/delete:", key=f"{where}-del-yes-{run['id']}"):
            if delete_run(run["id"], title):
                st.rerun()
        if c2.button("Cancel", key=f"{where}-del-no-{run['id']}"):
            _close_confirm()
            st.rerun()

    st.dialog(f"Delete run #{run['id']}?", on_dismiss=_close_confirm)(body)()


def delete_run(run_id: int, title: str) -> bool:
    """Delete the run; forget it everywhere and leave no run picked in its place. False (shown) if refused."""
    try:
        get_store().delete_run(run_id)
    except RunStoreError as err:
        st.error(str(err))
        return False
    invalidate()
    _close_confirm()
    forget(run_id)
    st.session_state[DELETED_KEY] = (run_id, title)
    st.session_state[NO_PICK_KEY] = True
    return True


def announce_deleted() -> bool:
    """'Run #N deleted' once after a delete (a toast and a line on the page); True if it was shown."""
    deleted = st.session_state.pop(DELETED_KEY, None)
    if not deleted:
        return False
    run_id, title = deleted
    st.toast(f"Run #{run_id} deleted", icon=":material/delete:")
    st.success(f"Run #{run_id} deleted ({title}). Pick another run to watch, or start one.")
    return True


def auto_pick_allowed() -> bool:
    """Whether a page may pick a run for the user (not right after a delete, until they pick one)."""
    return not st.session_state.get(NO_PICK_KEY)


def default_run(runs: list[dict], last_key: str) -> int | None:
    """The run a page shows when the URL names none (one rule for every page): the run this session watched last
    there, else the newest queued or running run, else the newest run; none right after a delete."""
    if not runs or not auto_pick_allowed():
        return None
    last = st.session_state.get(last_key)
    if last is not None:
        return int(last)
    active = [r for r in runs if r["status"] in ("queued", "running")]  # runs come newest first
    return (active or runs)[0]["id"]


def picked(run_id: int | None) -> None:
    """The user watches ``run_id`` (a pick, a start, a link): pages may pick runs for them again."""
    if run_id is not None:
        st.session_state.pop(NO_PICK_KEY, None)


def forget(run_id: int) -> None:
    """Stop pointing at a deleted run (URL and the pages' remembered run)."""
    if st.query_params.get("run") == str(run_id):
        del st.query_params["run"]
    for key in ("distill.last_run", "baseline.last_run"):
        if st.session_state.get(key) == run_id:
            del st.session_state[key]
