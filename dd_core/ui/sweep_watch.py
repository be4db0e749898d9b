"""Watch a sweep: the sweep picker (``?sweep=ID``), its status and its driver job's, Stop / Resume, and the live
trials table (each trial's run linked to the Distill page and the Gallery), redrawn every second by a fragment
while the sweep is queued or running; the timer stops when it ends (a last full rerun draws it without one)."""

from __future__ import annotations

import time

import streamlit as st

from dd_core.runs.store import ACTIVE_STATUSES
from dd_core.runs.sweeps import ACTIVE, driver_runs, get_sweep, set_sweep_status

from .boundary import safe
from .fmt import STATUS_COLOR, STATUS_ICON, fmt_seconds, method_label
from .messages import run_error
from .store_access import get_store, kick_worker
from .sweep_access import invalidate
from .sweep_inputs import column_label

REFRESH_S = 1.0
FINAL = ("done", "failed", "cancelled", "interrupted")


def sweep_label(s: dict) -> str:
    """'#3 · DM, Random real · mnist-5k · 8 trials · grid IPC, Image learning rate' (no status: a keyed select box
    keeps the label it first had)."""
    parts = [f"#{s['id']}", ", ".join(method_label(m) for m in s.get("methods") or []) or "no method"]
    if s.get("dataset"):
        parts.append(str(s["dataset"]))
    parts.append(f"{s.get('n_trials', 0)} trials")
    if s.get("grid"):
        parts.append(f"grid {', '.join(column_label(k) for k in s['grid'])}")
    return " · ".join(parts)


def sweep_param() -> int | None:
    """The sweep id in the URL (``?sweep=3``), or None."""
    v = st.query_params.get("sweep")
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def pick_sweep(sweeps: list[dict]) -> int | None:
    """The 'Watching sweep' select (newest first; the URL's sweep, else the newest); a pick goes to the URL."""
    current = sweep_param()
    if current is None and sweeps:
        current = sweeps[0]["id"]
        st.query_params["sweep"] = str(current)
    if not sweeps:
        return current
    ids = [s["id"] for s in sweeps]
    if current is not None and current not in ids:
        ids.insert(0, current)
    labels = {s["id"]: sweep_label(s) for s in sweeps}
    pick = st.selectbox(
        "Watching sweep",
        ids,
        index=ids.index(current) if current in ids else None,
        format_func=lambda i: labels.get(i, f"#{i}"),
        key=f"sweep.pick.{current}",
    )
    if pick is not None and pick != current:
        st.query_params["sweep"] = str(pick)
        st.rerun()
    return pick


def newest_driver(sweep_id: int) -> dict | None:
    runs = driver_runs(get_store(), sweep_id)
    return runs[0] if runs else None


def is_active(sweep: dict) -> bool:
    return sweep["status"] in ACTIVE or bool(driver_runs(get_store(), sweep["id"], active=True))


def resume_job(driver: dict | None) -> dict:
    """The resources of a resumed sweep: those of its last driver job (else a local Ray's defaults)."""
    job = dict(((driver or {}).get("config") or {}).get("sweep") or {})
    job.pop("sweep_id", None)
    return {"address": None, "cpus_per_trial": None, "gpus_per_trial": 0.0, "ray_dashboard": False, **job}


def stop(sweep_id: int, driver: dict) -> None:
    """Stop the sweep: its driver stops running trials cleanly and cancels the queued ones. A driver still queued
    is cancelled at once, and so is the sweep (it never ran)."""
    store = get_store()
    if store.request_cancel(driver["id"]) == "cancelled":
        set_sweep_status(store, sweep_id, "cancelled")
    invalidate()


def resume(sweep_id: int, driver: dict | None) -> None:
    """Queue another driver job of the sweep: it runs the trials not done."""
    from dd_core.errors import DDError
    from dd_core.sweeps.submit import resume_sweep

    from .messages import ui_message

    try:
        resume_sweep(get_store(), sweep_id, resume_job(driver))
    except DDError as err:
        st.error(ui_message(str(err)))
        return
    invalidate()
    st.rerun(scope="app")


def controls(sweep: dict, driver: dict | None, results: list[dict], ray_problem: str | None) -> None:
    """Stop (while a driver job is queued or running) and Resume (when none is and some trial is not done)."""
    active = driver is not None and driver["status"] in ACTIVE_STATUSES
    stopping = active and bool(driver and driver.get("cancel_requested"))
    c1, c2 = st.columns(2)
    if c1.button(
        "Stopping…" if stopping else "Stop",
        icon=":material/stop:",
        key=f"sweep.stop.{sweep['id']}",
        disabled=not active or stopping,
        help="Running trials stop at their next check (their last complete sets are kept); queued ones are cancelled.",
        width="stretch",
    ):
        assert driver is not None
        stop(sweep["id"], driver)
        st.rerun(scope="app")
    unfinished = [r for r in results if r["status"] != "done"]
    if c2.button(
        "Resume",
        icon=":material/replay:",
        key=f"sweep.resume.{sweep['id']}",
        disabled=active or not unfinished or bool(ray_problem),
        help=ray_problem or f"Runs the trials not done ({len(unfinished)}) again, on the resources of the last run.",
        width="stretch",
    ):
        resume(sweep["id"], driver)


def status_block(sweep: dict, driver: dict | None, results: list[dict]) -> None:
    """The sweep's status, its driver job's, and the trials' progress."""
    st.badge(sweep["status"], color=STATUS_COLOR.get(sweep["status"], "gray"))  # type: ignore[arg-type]
    meta = [time.strftime("created %Y-%m-%d %H:%M", time.localtime(sweep["created_at"]))]
    if driver is not None:
        meta.append(f"driver run #{driver['id']} {driver['status']} on {driver.get('device') or 'cpu'}")
    if sweep.get("finished_at"):
        meta.append(f"took {fmt_seconds(sweep['finished_at'] - sweep['created_at'])}")
    st.caption(" · ".join(meta))
    counts = {s: sum(1 for r in results if r["status"] == s) for s in (*FINAL, "running", "queued")}
    finished = sum(counts[s] for s in FINAL)
    total = len(results) or 1
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    st.progress(finished / total, text=f"{finished} / {len(results)} trials finished ({parts})")
    if driver is None:
        return
    if driver["status"] == "queued":
        kick_worker(driver)
        st.info("Queued: the sweep starts when its device is free (one job at a time per device).")
    elif driver["status"] in ("failed", "interrupted") and driver.get("error"):
        (st.error if driver["status"] == "failed" else st.warning)(
            f"**The sweep's driver {driver['status']}:** {run_error(driver['error'], 'sweep')}"
        )
    elif sweep["status"] == "cancelled":
        st.info("Stopped on request. **Resume** runs the trials that are not done.")


def trial_rows(results: list[dict]) -> list[dict]:
    """One row per trial: its grid values, seed, status, last accuracy beside random real, time, error, links."""
    keys = list(dict.fromkeys(k for r in results for k in r["params"]))
    rows = []
    for r in results:
        row = {"trial": r["trial"], "method": method_label(r["method"])}
        row.update({column_label(k): r["params"].get(k) for k in keys})
        pct = lambda v: None if v is None else 100 * v  # noqa: E731
        row.update(
            seed=r["seed"],
            status=f"{STATUS_ICON.get(r['status'], '')} {r['status']}",
            **{"accuracy (%)": pct(r["acc_mean"]), "random real (%)": pct(r["random_acc_mean"])},
            time=fmt_seconds(r["seconds"]) if r["seconds"] is not None else "",
            run=f"distill?run={r['run_id']}" if r["run_id"] else None,
            gallery=f"gallery?run={r['run_id']}" if r["run_id"] else None,
            error=run_error(r["error"]) if r["error"] else "",
        )
        rows.append(row)
    if not any(row["error"] for row in rows):  # the widest column, only when some trial has a message
        for row in rows:
            del row["error"]
    return rows


def trials_table(results: list[dict]) -> None:
    if not results:
        st.caption("This sweep has no trials.")
        return
    st.dataframe(
        trial_rows(results),
        hide_index=True,
        width="stretch",
        column_config={
            "accuracy (%)": st.column_config.NumberColumn(format="%.1f", help="the last evaluation's mean"),
            "random real (%)": st.column_config.NumberColumn(
                format="%.1f", help="random real images, as many per class, under the same evaluation"
            ),
            "run": st.column_config.LinkColumn(display_text=r"run=(\d+)$", help="the trial's run on the Distill page"),
            "gallery": st.column_config.LinkColumn(display_text="images", help="its images on the Gallery page"),
        },
    )


def watch(sweep_id: int, ray_problem: str | None) -> tuple[list[dict], list] | None:
    """Draw sweep ``sweep_id`` (live while active); returns its trials' results and its trials, or None when there
    is no such sweep."""
    from dd_core.sweeps.results import sweep_results
    from dd_core.sweeps.trials import trials_of

    store = get_store()
    sweep = get_sweep(store, sweep_id)
    if sweep is None:
        st.warning(f"Sweep #{sweep_id} does not exist in this data home's run store.")
        return None
    trials = trials_of(sweep["spec"])
    active = is_active(sweep)

    @st.fragment(run_every=REFRESH_S if active else None)
    @safe
    def live() -> None:
        current = get_sweep(store, sweep_id)
        if current is None:
            st.warning(f"Sweep #{sweep_id} was removed.")
            return
        driver = newest_driver(sweep_id)
        results = sweep_results(store, sweep_id, trials)
        head, ctl = st.columns([3, 1], vertical_alignment="center")
        with head:
            status_block(current, driver, results)
        with ctl:
            controls(current, driver, results, ray_problem)
        trials_table(results)
        if active and not is_active(current):
            invalidate()
            st.rerun(scope="app")  # stop the timer: redraw once without it (and the results with it)

    live()
    return sweep_results(store, sweep_id, trials), trials
