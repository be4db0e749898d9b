"""Home page: device, datasets with their status and fixes, recent runs (with cancel / delete), and one-click
experiments that reproduce the seed experiments. Reads the store and dd_core facts only; never loads a dataset.

Renders progressively: the recent runs (SQLite) and the datasets (file checks) need neither PyTorch nor pandas and
come first; the device and the experiments (whose budget depends on CUDA) need PyTorch, which ``streamlit run app.py``
imports at start-up (``dd_core.ui.warmup``), so they only wait for it where the server skipped that (AppTest, old
Streamlit versions)."""

from __future__ import annotations

import sys

import streamlit as st

from dd_core.paths import data_home
from dd_core.runs.store import ACTIVE_STATUSES

from .boundary import safe
from .fmt import STATUS_ICON, eval_acc, fmt_acc, fmt_seconds, md_table, run_seconds, run_title
from .messages import run_error
from .run_actions import announce_deleted, auto_pick_allowed, danger_zone, picked
from .settings import dataset_path
from .store_access import get_store, invalidate, list_runs, reap_now
from .sweep_filter import SweepChoice, sweep_cell, sweep_filter
from .widgets import dataset_path_input

PAGE_OF_KIND = {
    "distill": "pages/distill.py",
    "baseline": "pages/baseline.py",
    "evaluate": "pages/compare.py",
    "sweep": "pages/sweep.py",
}


def open_params(run: dict) -> dict:
    """The page address that shows ``run``: a sweep's driver job opens its sweep, any other run itself."""
    if run["kind"] == "sweep" and run.get("sweep_id") is not None:
        return {"sweep": str(run["sweep_id"])}
    return {"run": str(run["id"])}


@st.cache_data(ttl=10, show_spinner=False)
def _statuses(home: str, mhist_path: str | None, folder_path: str | None) -> list[dict]:
    from dd_core.data import DATASETS, dataset_status

    rows = []
    for name in DATASETS:
        path = mhist_path if name == "mhist" else folder_path if name == "folder" else None
        s = dataset_status(name, path=path)
        rows.append({"dataset": s.name, "status": s.status, "detail": s.detail, "fix": s.fix})
    return rows


@st.cache_data(ttl=2, show_spinner=False)
def _last_accs(home: str, ids: tuple) -> dict:
    store = get_store()
    out = {}
    for i in ids:
        ev = store.evals(i)
        if ev:
            e = ev[-1]
            out[i] = f"{eval_acc(e, ' %')} ({e.get('net')} @ {e.get('iteration')})"
    return out


def device_block() -> None:
    import torch

    st.subheader("Device")
    from dd_core.device import describe_device, pick_device

    dev = pick_device()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Device", "CUDA" if dev.type == "cuda" else "CPU", help=describe_device(dev))
    c2.metric("Torch threads", torch.get_num_threads())
    c3.metric("PyTorch", torch.__version__.split("+")[0])
    from dd_core.experiments import default_budget

    c4.metric(
        "Experiment budget",
        default_budget().upper(),
        help="Experiments use the GPU budget (the papers' settings) with CUDA, else a CPU-sized budget.",
    )
    st.caption(f"Device: {describe_device(dev)} · data home: `{data_home()}` (set `DD_HOME` to change)")


def datasets_block() -> None:
    st.subheader("Datasets")
    rows = _statuses(str(data_home()), dataset_path("mhist"), dataset_path("folder"))
    icon = {"available": "✓", "will download": "↓", "missing": "✗"}
    st.markdown(
        md_table(
            [
                {"dataset": r["dataset"], "status": f"{icon.get(r['status'], '')} {r['status']}", "detail": r["detail"]}
                for r in rows
            ]
        )
    )
    for r in rows:
        if r["fix"]:
            st.info(f"**{r['dataset']}** — {r['fix']}")


def runs_block() -> None:
    st.subheader("Recent runs")
    announce_deleted()
    sweep = sweep_filter("home.sweep")
    if isinstance(sweep, int):
        st.page_link(
            "pages/compare.py",
            label=f"Compare sweep #{sweep}",
            query_params={"sweep": str(sweep)},
            icon=":material/bar_chart:",
        )
    runs = list_runs(limit=15, sweep=sweep)
    if not runs:
        if sweep is not None:
            st.caption("No run in this selection: pick “all runs” under Sweep.")
            return
        st.caption(
            "No runs yet: start one from an experiment below or from the Distill / Baseline pages. Runs of the "
            "command line (`python -m dd_core distill ...`) show up here too."
        )
        return
    live_runs_table(runs, sweep)
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    labels = {r["id"]: run_title(r, with_status=False) for r in runs}
    pick = c1.selectbox(
        "Run",
        [r["id"] for r in runs],
        index=0 if auto_pick_allowed() else None,
        format_func=lambda i: labels[i],
        key="home.run",
        placeholder="Pick a run",
    )
    picked(pick)
    run = next((r for r in runs if r["id"] == pick), None)
    if run is None:
        return
    with c2:
        st.page_link(
            PAGE_OF_KIND.get(run["kind"], "pages/distill.py"),
            label="Open",
            query_params=open_params(run),
            icon=":material/open_in_new:",
        )
    if run["status"] in ACTIVE_STATUSES and c3.button("Stop", icon=":material/stop:", key="home.stop"):
        get_store().request_cancel(run["id"])
        invalidate()
        st.rerun()
    danger_zone(run, where="home")  # Delete: below, in its own expander, never where Stop was


def live_runs_table(runs: list[dict], sweep: SweepChoice = None) -> None:
    """The recent runs (of the ``sweep`` filter's choice) as a table; while one of them is queued or running it
    redraws every 2 s (a fragment), and the page reruns once when they have all ended."""
    active = any(r["status"] in ACTIVE_STATUSES for r in runs)

    @st.fragment(run_every=2.0 if active else None)
    @safe
    def table() -> None:
        now = list_runs(limit=15, sweep=sweep) if active else runs
        draw_runs_table(now)
        if active and not any(r["status"] in ACTIVE_STATUSES for r in now):
            invalidate()
            st.rerun(scope="app")

    table()


def draw_runs_table(runs: list[dict]) -> None:
    """The runs as a Markdown table: status, progress, time, the last accuracy, the error in a line."""
    accs = _last_accs(str(data_home()), tuple(r["id"] for r in runs if r["kind"] != "baseline"))
    for r in runs:
        if r["kind"] == "baseline" and (r.get("summary") or {}).get("test_acc") is not None:
            s = r["summary"]
            accs[r["id"]] = f"{fmt_acc(s['test_acc'])} % ({s.get('net')}, whole dataset)"
    st.markdown(
        md_table(
            [
                {
                    "run": f"#{r['id']}",
                    "status": f"{STATUS_ICON.get(r['status'], '')} {r['status']}",
                    "kind": r["kind"],
                    "method": r["method"] or "",
                    "dataset": r["dataset"],
                    "IPC": "" if r["ipc"] is None else r["ipc"],
                    "progress": (f"{r['iteration'] or 0}/{r['total_iterations']}" if r["total_iterations"] else ""),
                    "time": fmt_seconds(run_seconds(r)),
                    "last accuracy": accs.get(r["id"], ""),
                    "source": r["source"],
                    "label": r["label"] or "",
                    "sweep": sweep_cell(r),
                    "error": run_error(r["error"], r["kind"])[:120],
                }
                for r in runs
            ]
        )
    )


def experiments_block() -> None:
    from dd_core.data import dataset_status
    from dd_core.experiments import EXPERIMENTS, plan
    from dd_core.runs.worker import submit

    st.subheader("One-click experiments (the seed deck)")
    st.caption(
        "One click queues the runs that reproduce a seed experiment (one at a time per device; watch them on "
        "the Distill / Baseline pages). Without a GPU each experiment uses its CPU-sized budget."
    )
    mhist_needed = st.expander("MHIST folder (for the MHIST experiments)", expanded=False)
    with mhist_needed:
        mhist_path = dataset_path_input("mhist", "home.mhist", st)
    mnist = dataset_status("mnist").status
    cols = st.columns(2)
    for i, key in enumerate(EXPERIMENTS):
        p = plan(key, mhist_path=mhist_path, mnist_status=mnist)
        with cols[i % 2].container(border=True):
            st.markdown(f"**{p.title}**  \n<small>`{key}`</small>", unsafe_allow_html=True)
            st.caption(EXPERIMENTS[key].seed)
            for note in p.notes:
                st.caption("• " + note)
            if p.disabled:
                st.warning(p.disabled + (f" — **Fix:** {p.fix}" if p.fix else ""))
            n = len(p.runs)
            if st.button(
                f"Run {key}" + (f" ({n} runs)" if n > 1 else ""),
                icon=":material/play_arrow:",
                key=f"home.experiment.{key}",
                disabled=bool(p.disabled),
            ):
                ids = []
                try:
                    for cfg in p.runs:
                        ids.append(submit(get_store(), cfg))
                except Exception as err:  # noqa: BLE001 - shown, not raised
                    st.error(f"could not queue {key}: {err}")
                if ids:
                    st.session_state["home.queued"] = (key, ids)
                    invalidate()
                    st.rerun()
            queued = st.session_state.get("home.queued")
            if queued and queued[0] == key:
                run_ids = queued[1]
                first = get_store().get_run(run_ids[0])
                st.success("Queued " + ", ".join(f"#{r}" for r in run_ids))
                if first:
                    st.page_link(
                        PAGE_OF_KIND.get(first["kind"], "pages/distill.py"),
                        label=f"Watch run #{run_ids[0]}",
                        query_params={"run": str(run_ids[0])},
                        icon=":material/monitoring:",
                    )


@safe
def render() -> None:
    reap_now()
    st.title("DistillLab")
    st.caption(
        "Dataset distillation, live: learn a tiny synthetic training set on which a fresh network "
        "reaches accuracy close to training on the whole dataset. Methods: DM, AM (DataDAM), PAD; "
        "baselines: random real, herding, whole dataset."
    )
    runs_block()
    device_slot = st.empty()
    experiments_slot = st.empty()
    if "torch" not in sys.modules:  # first visit of a fresh server: PyTorch is still being imported
        device_slot.caption(":material/hourglass_top: Loading PyTorch…")
    datasets_block()
    with device_slot.container():
        device_block()
    with experiments_slot.container():
        experiments_block()
