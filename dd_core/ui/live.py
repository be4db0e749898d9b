"""The live view of one run: status, progress (iteration, it/s, ETA), loss curve, latest snapshot as a per-class
gallery and evaluations as they arrive. Redrawn every second by a fragment while the run is queued or running; the
timer stops when the run ends (a last full rerun redraws it without a timer).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from dd_core.runs.references import run_evals_with_references
from dd_core.runs.store import ACTIVE_STATUSES

from . import charts
from .boundary import safe
from .fmt import (
    PLOTLY_CONFIG,
    eval_acc,
    fmt_acc,
    fmt_seconds,
    headline_text,
    last_eval,
    method_label,
    net_label,
    protocol_text,
    run_seconds,
    run_title,
)
from .images import PNG, change_png, snapshot_png
from .messages import run_error
from .run_actions import danger_zone, forget
from .store_access import get_store, invalidate, kick_worker
from .widgets import status_badge

REFRESH_S = 1.0


def metric_rows(run: dict) -> list[dict]:
    """All step metrics of ``run``, read incrementally (only rows newer than the last read) and kept per session."""
    store = get_store()
    key = f"_metrics:{run['id']}:{run['created_at']}"
    cache = st.session_state.get(key)
    if cache is None:
        cache = {"last": -1, "rows": []}
    new = store.metrics(run["id"], after_iteration=cache["last"])
    if new:
        cache["rows"].extend(new)
        cache["last"] = new[-1]["iteration"]
    st.session_state[key] = cache
    return cache["rows"]


def queue_position(run: dict) -> tuple[int, list[dict]]:
    store = get_store()
    queued = sorted(store.list_runs(status="queued", limit=None), key=lambda r: (r["created_at"], r["id"]))
    running = store.list_runs(status="running", limit=None)
    pos = next((i for i, r in enumerate(queued) if r["id"] == run["id"]), 0)
    return pos + 1, running


def _phase_fraction(ev: dict | None) -> float:
    """How far an evaluation-like phase is (models and epochs done), in [0, 1]."""
    if not ev or ev.get("final"):
        return 0.0
    ep, eps = ev.get("epoch") or 0, ev.get("epochs") or 0
    m, nm = ev.get("model") or 1, ev.get("n_models") or 1
    subset, subsets = ev.get("subset") or 1, ev.get("subsets") or 1
    per_model = ep / eps if eps else 0.0
    return min(1.0, ((subset - 1) * nm + (m - 1) + per_model) / (subsets * nm))


def remaining_after_iterations(phases: dict, evals: list[dict]) -> float:
    """Estimated seconds of the evaluations (and random-real references) still ahead, from the job's plan."""
    plan = (phases.get("setup") or {}).get("plan") or {}
    per_eval = float(plan.get("eval_seconds") or 0.0)
    done = {e.get("iteration") for e in evals}
    pending = [i for i in plan.get("eval_at") or [] if i not in done]
    left = len(pending) * per_eval
    running = phases.get("eval")
    if pending and running and running.get("iteration") in pending:
        left -= _phase_fraction(running) * per_eval
    if not evals and plan.get("reference_seconds"):
        ref = phases.get("reference")
        left += float(plan["reference_seconds"]) * (1.0 - _phase_fraction(ref) if ref else 1.0)
    return max(0.0, left)


def progress_block(run: dict, rows: list[dict], phases: dict, evals: list[dict] | None = None) -> None:
    """Progress bar with iteration (or epoch), it/s and ETA; the evaluation phase underneath while it trains."""
    total = run.get("total_iterations")
    if run["kind"] == "baseline":
        total = (run["config"].get("baseline") or {}).get("epochs") or (rows[-1].get("epochs") if rows else None)
    it = rows[-1]["iteration"] if rows else (run.get("iteration") or 0)
    unit = "epoch" if run["kind"] == "baseline" else "iteration"
    rate = None
    if rows and rows[-1].get("it_per_s"):
        rate = rows[-1]["it_per_s"]
    elif rows and run.get("started_at") and len(rows) > 1:
        span = rows[-1]["t"] - rows[0]["t"]
        rate = (len(rows) - 1) / span if span > 0 else None
    setup = phases.get("setup") if run["status"] == "running" and not rows else None
    if setup is not None and not setup.get("final"):  # the start-up, named: not "iteration 0" for 20 s
        st.progress(0.0, text=f"start-up: {setup.get('step', '…')} (the iterations start after it)")
        return
    if total:
        frac = min(1.0, it / total) if total else 0.0
        eta = (total - it) / rate if rate and run["status"] == "running" else None
        after = remaining_after_iterations(phases, evals or []) if run["status"] == "running" else 0.0
        if eta is not None and after:  # the bar and the ETA include the evaluations still ahead
            spent = it / rate if rate else 0.0
            eta += after
            frac = min(1.0, spent / (spent + eta)) if spent + eta > 0 else frac
        text = f"{unit} {it:,} / {total:,}"
        if rate:
            text += f" · {rate:.2f} {'it' if unit == 'iteration' else 'epochs'}/s"
        if eta is not None:
            text += f" · ETA {fmt_seconds(eta)}" + (" (evaluation included)" if after else "")
        st.progress(frac, text=text)
    if run["status"] != "running":
        return
    for phase, ev in phases.items():
        if phase == "setup" or ev.get("final") or time.time() - ev.get("t", 0) > 30:
            continue
        ep, eps = ev.get("epoch"), ev.get("epochs")
        frac = min(1.0, ep / eps) if isinstance(ep, (int, float)) and eps else 0.0
        if phase == "eval":
            text = (
                f"evaluating at iteration {ev.get('iteration')}: {net_label(ev.get('net'))} model "
                f"{ev.get('model')}/{ev.get('n_models')}, epoch {ep}/{eps}"
                + (" (hard labels)" if ev.get("labels") == "hard" else "")
            )
        elif phase == "reference":
            text = (
                f"random-real reference ({net_label(ev.get('net'))}): subset {ev.get('subset')}/{ev.get('subsets')}, "
                f"model {ev.get('model')}/{ev.get('n_models')}, epoch {ep}/{eps} (computed once, then cached)"
            )
        else:
            parts = [
                f"{k} {v}"
                for k, v in ev.items()
                if k not in ("phase", "t", "final", "type") and isinstance(v, (int, str))
            ][:6]
            text = f"{phase}: " + ", ".join(parts)
        st.progress(frac, text=text)


def evals_block(run: dict, evals: list[dict]) -> None:
    if not evals:
        st.caption(
            "No evaluation yet"
            + (
                " — scheduled at " + ", ".join(map(str, run["config"].get("eval_at")))
                if run["config"].get("eval_at")
                else " (none scheduled)"
            )
            + "."
        )
        return
    its = {e.get("iteration") for e in evals}
    if len(its) > 1:
        st.plotly_chart(charts.acc_vs_iteration_figure(evals), key=f"acc-{run['id']}", config=PLOTLY_CONFIG)
    rows = [
        {
            "iteration": e.get("iteration"),
            "net": net_label(e["net"]),
            "accuracy (%)": eval_acc(e),
            "random real (%)": fmt_acc(e.get("random_acc_mean"), e.get("random_acc_std")),
            "gain (points)": "–" if e.get("gain_over_random") is None else f"{100 * e['gain_over_random']:+.1f}",
            "protocol": protocol_text(e),
            "seconds": f"{e.get('seconds') or 0:.1f}",
        }
        for e in evals
    ]
    st.table(rows, hide_index=True)


def headline_block(run: dict, evals: list[dict]) -> None:
    """The lesson in three numbers, for the LAST evaluation (the run's own net when it was evaluated there): the
    distilled set, random real images of the same size under the same evaluation (with the gain), and the whole
    dataset when trained; the same in one line underneath (:func:`fmt.headline_text`)."""
    net = ((run.get("config") or {}).get("method_options") or {}).get("net")
    e = last_eval(evals, net)
    if e is None:
        return
    ipc = run.get("ipc")
    a, b, c = st.columns(3)
    a.metric(
        f"{method_label(run.get('method'))} · IPC {ipc} · {net_label(e.get('net'))}",
        "—" if e.get("acc_mean") is None else f"{100 * e['acc_mean']:.1f} %",
        help=f"{eval_acc(e, ' %')}; {protocol_text(e)}; the last synthetic set (iteration {e.get('iteration')})",
    )
    if e.get("random_acc_mean") is not None:
        gain = e.get("gain_over_random")
        b.metric(
            f"random real · IPC {ipc}",
            f"{100 * e['random_acc_mean']:.1f} %",
            delta=None if gain is None else f"{100 * gain:+.1f} points for the distilled set",
            help=f"{e.get('random_subsets') or 'K'} random real subsets, same evaluation: "
            + fmt_acc(e["random_acc_mean"], e.get("random_acc_std"), None, " %"),
        )
    else:
        b.metric(
            f"random real · IPC {ipc}",
            "not measured",
            help=e.get("reference_error") or "no random-real reference for this run (an older run, or turned off)",
        )
    if e.get("whole_acc") is not None:
        closed = e.get("gap_closed")
        c.metric(
            f"whole dataset · {e.get('whole_epochs')} epochs",
            f"{100 * e['whole_acc']:.1f} %",
            delta=None if closed is None else f"{100 * closed:.0f} % of the gap closed",
            delta_color="off",
            help=f"baseline run #{e.get('whole_run_id')} (the most complete one for this dataset and net)",
        )
    else:
        c.metric("whole dataset", "–", help="no whole-dataset baseline yet: train one on the Baseline page")
    st.caption(headline_text(e, method=run.get("method"), ipc=ipc))
    if e.get("hard_label_acc_mean") is not None:
        st.caption(
            f"With hard labels and the protocol's lr instead of the learned ones, the same images reach "
            f"{100 * e['hard_label_acc_mean']:.1f} %: what the images alone are worth."
        )


def gallery_block(run: dict, snaps: list[dict], max_per_class: int = 20) -> None:
    if not snaps:
        st.caption("No snapshot yet.")
        return
    snap = snaps[-1]
    view = st.segmented_control(
        "show",
        ["images", "change since iteration 0"],
        default="images",
        key=f"view-{run['id']}",
        label_visibility="collapsed",
        help="The change |S_t − S_0| of each image since the first snapshot, stretched to its own maximum: "
        "small changes become visible (white = most changed pixels of that image).",
    )
    try:
        if view == "change since iteration 0" and len(snaps) > 1:
            path = Path(snap["abs_path"])
            png = change_png(snaps[0]["abs_path"], str(path), path.stat().st_mtime_ns, max_per_class)
            caption = f"|S_{snap['iteration']} − S_0| per image, contrast-stretched"
        else:
            png = snapshot_png(snap["abs_path"], max_per_class)
            caption = f"snapshot at iteration {snap['iteration']} ({len(snaps)} snapshots)"
    except Exception as err:  # noqa: BLE001 - a snapshot file removed meanwhile
        st.caption(f"snapshot unavailable: {err}")
        return
    st.image(png, caption=caption, output_format=PNG)


def controls(run: dict, *, where: str) -> None:
    """Stop (active runs), in the run's header. Delete lives elsewhere (:func:`danger_zone`): a button that turns
    into Delete where Stop was would delete a run with a second click meant for Stop."""
    if run["status"] not in ACTIVE_STATUSES:
        return
    stopping = run.get("cancel_requested")
    if st.button(
        "Stop" if not stopping else "Stopping…",
        icon=":material/stop:",
        key=f"{where}-stop-{run['id']}",
        disabled=bool(stopping),
        help="Stops after the current step; the last complete synthetic set is kept.",
    ):
        get_store().request_cancel(run["id"])
        invalidate()
        st.rerun()


def run_panel(run_id: int, *, where: str = "distill") -> None:
    """Draw the run; while it is active, redraw it every second (a fragment) and rerun the page when it ends."""
    store = get_store()
    run = store.get_run(run_id)
    if run is None:
        forget(run_id)
        st.warning(f"Run #{run_id} does not exist (deleted?).")
        return
    active = run["status"] in ACTIVE_STATUSES

    @st.fragment(run_every=REFRESH_S if active else None)
    @safe
    def live() -> None:
        current = store.get_run(run_id)
        if current is None:
            st.warning(f"Run #{run_id} was deleted.")
            return
        draw(current)
        danger_zone(current, where="live")
        if active and current["status"] not in ACTIVE_STATUSES:
            invalidate()
            st.rerun(scope="app")  # stop the timer: redraw once without it

    live()


def draw(run: dict) -> None:
    store = get_store()
    head, ctl = st.columns([5, 1], vertical_alignment="center")
    with head:
        st.subheader(run_title(run, with_status=False))
        status_badge(run)
        meta = [f"device {run.get('device') or 'auto'}", f"source {run.get('source')}"]
        secs = run_seconds(run)
        if secs is not None:
            meta.append(f"elapsed {fmt_seconds(secs)}")
        st.caption(" · ".join(meta))
    with ctl:
        controls(run, where="live")
    if run["status"] == "queued":
        kick_worker(run)
        pos, running = queue_position(run)
        st.info(
            f"Queued — position {pos} in the queue"
            + (
                f"; running now: {', '.join('#' + str(r['id']) for r in running)}"
                if running
                else "; the worker is starting"
            )
            + ". One run at a time per device."
        )
    if run.get("error") and run["status"] in ("failed", "interrupted"):
        (st.error if run["status"] == "failed" else st.warning)(
            f"**{run['status'].capitalize()}:** {run_error(run['error'], run['kind'])}"
            + (" — its last snapshot and partial results are kept below." if run["status"] == "interrupted" else "")
        )
    if run["status"] == "cancelled":
        st.info("Stopped on request; the last complete synthetic set is kept.")
    rows = metric_rows(run)
    evals = run_evals_with_references(store, run)
    progress_block(run, rows, store.progress(run["id"]) if run["status"] == "running" else {}, evals)
    if run["kind"] in ("distill", "evaluate"):
        headline_block(run, evals)
    if run["kind"] == "baseline":
        if rows:
            st.plotly_chart(charts.baseline_figure(rows), key=f"base-{run['id']}", config=PLOTLY_CONFIG)
        summary = run.get("summary") or {}
        if summary.get("test_acc") is not None:
            st.metric("Final test accuracy", f"{100 * summary['test_acc']:.2f} %")
        return
    if run["kind"] == "distill":  # the loss and the latest snapshot side by side, above the fold
        left, right = st.columns([3, 2])
        with left:
            if rows:
                st.plotly_chart(charts.loss_figure(rows), key=f"loss-{run['id']}", config=PLOTLY_CONFIG)
            elif run["status"] == "running":
                st.caption("Waiting for the first iteration (loading data, building the method)…")
        with right:
            st.markdown("**Latest snapshot**")
            gallery_block(run, store.snapshots(run["id"]))
    st.markdown("**Evaluations**")
    evals_block(run, evals)
    summary = run.get("summary") or {}
    if summary.get("seconds_per_iteration"):
        st.caption(
            f"{summary.get('iterations')} iterations in {fmt_seconds(summary.get('seconds_distill'))} "
            f"({summary['seconds_per_iteration']:.3f} s/iteration) on {summary.get('device')}."
        )
