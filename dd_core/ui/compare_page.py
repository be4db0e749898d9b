"""Compare page: runs side by side (accuracy per evaluation net at each run's final evaluated set, time, device),
the whole-dataset baseline as a reference row, published numbers beside (never inside) the measured ones, FLOPs and
training compute, charts, "evaluate on more architectures", and CSV / Markdown export."""

from __future__ import annotations

import streamlit as st

from dd_core.errors import DDError
from dd_core.nets import NET_NAMES
from dd_core.paths import data_home

from . import charts
from . import compare_data as cd
from .boundary import safe
from .fmt import PLOTLY_CONFIG, fmt_flops, method_label, net_label, run_title
from .messages import ui_message
from .store_access import get_store, invalidate, list_runs, reap_now

P = "compare"


@st.cache_data(show_spinner="Counting FLOPs (fvcore)…", max_entries=256)
def flops_of(net: str, channels: int, num_classes: int, image_size: int) -> dict | None:
    from dd_core.flops import count_flops

    try:
        r = count_flops(net, channels, num_classes, image_size)
    except DDError:
        return None
    return {"flops_per_image": r["flops_per_image"], "params": r["params"]}


@st.cache_data(ttl=2, show_spinner=False, max_entries=64)
def metrics_of(home: str, run_id: int, iteration: int | None) -> list[dict]:
    return charts.thin(get_store().metrics(run_id), 1000)


def filters(runs: list[dict]) -> list[dict]:
    c1, c2, c3 = st.columns(3)
    datasets = sorted({r["dataset"] for r in runs if r["dataset"]})
    ipcs = sorted({r["ipc"] for r in runs if r["ipc"] is not None})
    methods = sorted({r["method"] or "evaluate" for r in runs})
    ds = c1.multiselect("Dataset", datasets, key=f"{P}.ds", placeholder="all")
    ip = c2.multiselect("IPC", ipcs, key=f"{P}.ipc", placeholder="all")
    me = c3.multiselect("Method", methods, format_func=lambda m: method_label(m), key=f"{P}.method", placeholder="all")
    return [
        r
        for r in runs
        if (not ds or r["dataset"] in ds)
        and (not ip or r["ipc"] in ip)
        and (not me or (r["method"] or "evaluate") in me)
    ]


def flops_block(rows: list[cd.Row], runs_by_id: dict, baselines: dict) -> None:
    from dd_core.flops import CONVENTION, training_flops

    out = []
    store = get_store()
    for r in rows:
        if r.reference:
            continue
        shape = cd.data_shape(store, runs_by_id[r.run_id])
        if not shape:
            continue
        k, ipc = shape["num_classes"], r.ipc if isinstance(r.ipc, int) else None
        base = baselines.get(r.dataset)
        base_epochs = (base.records[next(iter(base.records))].get("epochs") if base and base.records else None) or 20
        for net, rec in r.records.items():
            f = flops_of(net, int(shape["channels"]), int(k), int(shape["image_size"]))
            if not f:
                continue
            fpi = f["flops_per_image"]
            syn = (
                training_flops(fpi, k * ipc, int(rec.get("epochs") or 0)) * int(rec.get("n_models") or 1)
                if ipc
                else None
            )
            n_train = shape.get("train_size")
            whole = training_flops(fpi, int(n_train), int(base_epochs)) if n_train else None
            out.append(
                {
                    "run": r.run_id,
                    "net": net_label(net),
                    "dataset": r.dataset,
                    "FLOPs / image (forward)": fmt_flops(fpi),
                    "params": f"{f['params']:,}",
                    "train on synthetic set": fmt_flops(syn)
                    + (f" ({k * ipc} images × {rec.get('epochs')} ep × {rec.get('n_models')} models)" if syn else ""),
                    "train on whole dataset": fmt_flops(whole)
                    + (f" ({n_train:,} images × {base_epochs} ep)" if whole else ""),
                    "synthetic / whole": f"{syn / whole:.2e}" if syn and whole else "—",
                }
            )
    if out:
        st.dataframe(out, hide_index=True)
        st.caption(
            f"FLOPs counted by fvcore ({CONVENTION}); training ≈ 3 × forward FLOPs × images × epochs. "
            "The whole-dataset column uses the epochs of the latest baseline run (else 20, the seed's)."
        )
    else:
        st.caption("No evaluated run selected.")


def evaluate_more(runs: list[dict]) -> None:
    from dd_core.runs.worker import submit
    from dd_core.spec import RunConfig

    candidates = [r for r in runs if r["kind"] == "distill" and (r.get("summary") or {}).get("synthetic_path")]
    if not candidates:
        st.caption("Select finished distillation runs to evaluate them on other architectures.")
        return
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    labels = {r["id"]: run_title(r, with_status=False) for r in candidates}
    which = c1.multiselect(
        "Runs", list(labels), default=list(labels)[:1], format_func=lambda i: labels[i], key=f"{P}.more.runs"
    )
    nets = c2.multiselect(
        "Architectures", list(NET_NAMES), default=["lenet"], format_func=net_label, key=f"{P}.more.nets"
    )
    if c3.button("Evaluate", icon=":material/play_arrow:", key=f"{P}.more.go", disabled=not (which and nets)):
        queued = []
        for rid in which:
            run = next(r for r in candidates if r["id"] == rid)
            cfg = run["config"]
            rc = RunConfig(
                kind="evaluate",
                dataset=run["dataset"],
                dataset_options=cfg.get("dataset_options") or {},
                method=None,
                synthetic_path=run["summary"]["synthetic_path"],
                source_run=rid,
                eval_nets=list(nets),
                eval=cfg.get("eval") or run["summary"].get("eval_config"),
                label=f"#{rid} on {', '.join(map(net_label, nets))}",
            )
            try:
                queued.append(submit(get_store(), rc))
                invalidate()
            except DDError as err:
                st.error(f"run #{rid}: {ui_message(str(err))}")
        if queued:
            st.success(
                "Queued evaluation run(s) " + ", ".join(f"#{q}" for q in queued) + " with each run's own "
                "evaluation protocol; their results join the table when done."
            )


@safe
def render() -> None:
    reap_now()
    store = get_store()
    st.title("Compare")
    runs = [
        r
        for r in list_runs(kind=["distill", "evaluate"], limit=300)
        if r["status"] != "queued" and not (r["kind"] == "evaluate" and r["config"].get("source_run"))
    ]
    if not runs:
        st.info("Nothing to compare yet: finish a run on the Distill page (or run a preset from the home page).")
        return
    shown = filters(runs)
    labels = {r["id"]: run_title(r, with_status=False) for r in shown}
    default = [r["id"] for r in shown if r["status"] == "done"][:6]
    picked = st.multiselect("Runs", list(labels), default=default, format_func=lambda i: labels[i], key=f"{P}.runs")
    if not picked:
        st.caption("Pick runs to compare.")
        return
    by_id = {r["id"]: r for r in shown}
    evaluate_runs = list_runs(kind="evaluate", limit=None)
    rows = [cd.make_row(store, by_id[i], evaluate_runs) for i in picked]
    baseline_runs = list_runs(kind="baseline", status="done", limit=None)
    baselines = {}
    for ds in sorted({r.dataset for r in rows}):
        b = cd.baseline_row(store, ds, baseline_runs)
        if b:
            baselines[ds] = b
    all_rows = rows + list(baselines.values())
    nets = cd.nets_of(all_rows)

    st.subheader("Side by side")
    protocols = cd.distinct_protocols(rows)
    if len(protocols) > 1:
        st.warning(
            "These results come from **different evaluation protocols** (" + "; ".join(protocols) + "): "
            "epochs and model counts differ, so the numbers are not directly comparable."
        )
    st.dataframe(cd.table(all_rows, nets), hide_index=True, width="stretch")
    st.caption(
        "Accuracy = mean ± std (%) over the evaluation models, of each run's last evaluated synthetic set "
        "(plus 'evaluate on more architectures' runs of that set). "
        + (
            "Reference row: the latest whole-dataset baseline run of the dataset (one model, no std). "
            if baselines
            else "No whole-dataset baseline yet for these datasets: run one on the Baseline "
            "page to get the reference row. "
        )
    )
    export = cd.table(all_rows, nets, numeric=True)
    e1, e2, _ = st.columns([1, 1, 3])
    e1.download_button(
        "CSV",
        data=export.to_csv(index=False).encode(),
        file_name="distilllab-compare.csv",
        mime="text/csv",
        key=f"{P}.csv",
        icon=":material/download:",
    )
    e2.download_button(
        "Markdown",
        data=cd.to_markdown(export).encode(),
        file_name="distilllab-compare.md",
        mime="text/markdown",
        key=f"{P}.md",
        icon=":material/download:",
    )

    st.subheader("Published numbers (recalled, not measured here)")
    pub = cd.published_table(
        {(r.dataset, r.ipc if isinstance(r.ipc, int) else None) for r in rows}, {r.method for r in rows}
    )
    if len(pub):
        st.dataframe(pub, hide_index=True, width="stretch")
        st.caption(
            "From the papers (and the seed deck), with their own protocols — e.g. 1,000 epochs and many "
            "models — so they are listed beside the measured table, never inside it."
        )
    else:
        st.caption("No published number for these datasets / IPCs.")

    st.subheader("Charts")
    st.caption("Download any chart as PNG from its toolbar (camera icon).")
    bar_rows = [{"name": r.name, "acc": r.acc} for r in all_rows if r.acc]
    if bar_rows:
        st.plotly_chart(charts.accuracy_bars(bar_rows, nets), key=f"{P}.bars", config=PLOTLY_CONFIG)
    distill_rows = [r for r in rows if r.kind == "distill"]
    series = {r.name: metrics_of(str(data_home()), r.run_id, by_id[r.run_id].get("iteration")) for r in distill_rows}
    series = {k: v for k, v in series.items() if v}
    c1, c2 = st.columns(2)
    with c1:
        if series:
            st.plotly_chart(charts.overlaid_losses(series), key=f"{P}.losses", config=PLOTLY_CONFIG)
    with c2:
        acc_series = {r.name: store.evals(r.run_id) for r in distill_rows}
        acc_series = {k: v for k, v in acc_series.items() if v}
        if acc_series:
            st.plotly_chart(charts.runs_acc_vs_iteration(acc_series), key=f"{P}.acc", config=PLOTLY_CONFIG)

    st.subheader("Compute")
    flops_block(rows, by_id, baselines)

    st.subheader("Evaluate on more architectures")
    evaluate_more([by_id[i] for i in picked])
