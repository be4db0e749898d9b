"""Compare page: runs side by side (accuracy per evaluation net at each run's final evaluated set, time, device),
the whole-dataset baseline as a reference row, published numbers beside (never inside) the measured ones, FLOPs and
training compute, charts, "evaluate on more architectures", and CSV / Markdown export."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dd_core.errors import DDError
from dd_core.nets import NET_NAMES
from dd_core.paths import data_home
from dd_core.runs.store import ACTIVE_STATUSES

from . import charts
from . import compare_charts as cc
from . import compare_data as cd
from .boundary import safe
from .fmt import PLOTLY_CONFIG, method_label, net_label, run_title
from .messages import ui_message
from .store_access import get_store, invalidate, list_runs, reap_now
from .sweep_filter import keep, sweep_filter

if TYPE_CHECKING:
    import pandas as pd

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
    c1, c2, c3, c4 = st.columns(4)
    datasets = sorted({r["dataset"] for r in runs if r["dataset"]})
    ipcs = sorted({r["ipc"] for r in runs if r["ipc"] is not None})
    methods = sorted({r["method"] or "evaluate" for r in runs})
    ds = c1.multiselect("Dataset", datasets, key=f"{P}.ds", placeholder="all")
    ip = c2.multiselect("IPC", ipcs, key=f"{P}.ipc", placeholder="all")
    me = c3.multiselect("Method", methods, format_func=lambda m: method_label(m), key=f"{P}.method", placeholder="all")
    sweep = sweep_filter(f"{P}.sweep", c4, query_param="sweep")
    return [
        r
        for r in runs
        if (not ds or r["dataset"] in ds)
        and (not ip or r["ipc"] in ip)
        and (not me or (r["method"] or "evaluate") in me)
        and keep(r, sweep)
    ]


def report_button(run_ids: list[int]) -> None:
    """ "Download report": the picked runs as one self-contained HTML file (``dd_core.report``, the same as
    ``python -m dd_core report --runs ...``), built only when clicked (a report inlines plotly.js and the grids)."""
    path = get_store().path

    def build() -> bytes:  # runs outside the script thread: its own store connection, no st.* calls
        from dd_core.report import build_report
        from dd_core.runs.store import RunStore

        store = RunStore(path)
        try:
            return build_report(store, list(run_ids)).encode()
        finally:
            store.close()

    st.download_button(
        "Download report",
        data=build,
        file_name="distilllab-report.html",
        mime="text/html",
        key=f"{P}.report",
        icon=":material/description:",
        on_click="ignore",
        help="One HTML file that opens offline in any browser: each run's settings, the headline table, compute, "
        "the charts, the initial → final grids, published numbers. The command line writes the same file, and "
        f"slide-sized PNGs: `python -m dd_core report --runs {','.join(map(str, run_ids))} --figures DIR`.",
    )


def pick_runs(runs: list[dict]) -> list[int]:
    """The filters and the run picker (the finished runs by default, else the newest one while it goes)."""
    shown = filters(runs)
    labels = {r["id"]: run_title(r, with_status=r["status"] != "done") for r in shown}
    default = [r["id"] for r in shown if r["status"] == "done"][:6] or [r["id"] for r in shown][:1]
    pending = st.session_state.pop(f"{P}.pending", None)
    if pending is not None:  # a run this page just queued joins the picked ones
        st.session_state[f"{P}.runs"] = [i for i in pending if i in labels]
    return st.multiselect("Runs", list(labels), default=default, format_func=lambda i: labels[i], key=f"{P}.runs")


def compute_block(rows: list[cd.Row], runs_by_id: dict, references: dict) -> None:
    from dd_core.flops import CONVENTION

    store = get_store()

    def forward(net: str, shape: dict) -> float | None:
        f = flops_of(net, int(shape["channels"]), int(shape["num_classes"]), int(shape["image_size"]))
        return f["flops_per_image"] if f else None

    out = cd.compute_rows(rows, runs_by_id, references, lambda run: cd.data_shape(store, run), forward)
    if not out:
        st.caption("No evaluated run selected.")
        return
    st.dataframe(out, hide_index=True, width="stretch")
    st.caption(
        f"FLOPs counted by fvcore ({CONVENTION}); training ≈ 3 × forward FLOPs × images × epochs × models. "
        "Distillation: its wall time (set-up + iterations) on its device and an estimate of its FLOPs "
        "(dd_core/methods/cost.py: DM/AM real forward + synthetic forward and backward per iteration; PAD its "
        "experts and the unrolled student steps). The whole dataset: the reference baseline's epochs (else 20)."
    )


def herding_block(rows: list[cd.Row], by_id: dict) -> None:
    """One click adds the herding coreset at each (dataset, IPC) on screen that has none, evaluated like the
    first run there; it runs as a job (its progress shows above, and the page refreshes when it ends)."""
    from dd_core.runs.worker import submit
    from dd_core.spec import RunConfig

    have = {(r.dataset, r.ipc) for r in rows if r.method == "herding"}
    missing: dict[tuple[str, int], dict] = {}
    for r in sorted(rows, key=lambda r: r.method not in ("dm", "am", "pad")):  # evaluated like a distiller's run
        run = by_id.get(r.run_id)
        if r.reference or r.kind != "distill" or not isinstance(r.ipc, int) or (r.dataset, r.ipc) in have or not run:
            continue
        missing.setdefault((r.dataset, r.ipc), run)
    for (dataset, ipc), run in sorted(missing.items()):
        cfg = run.get("config") or {}
        if st.button(
            f"Add herding at IPC {ipc} ({dataset}, evaluated like #{run['id']})",
            key=f"{P}.herding.{dataset}.{ipc}",
            icon=":material/add:",
            help="Herding picks the real images whose features' running mean "
            "tracks the class mean: the coreset baseline every paper reports beside random real.",
        ):
            rc = RunConfig(
                kind="distill",
                dataset=dataset,
                dataset_options=cfg.get("dataset_options") or {},
                method="herding",
                method_options={"ipc": ipc},
                iterations=0,
                eval_at=[0],
                eval_nets=cfg.get("eval_nets"),
                eval=cfg.get("eval") or (run.get("summary") or {}).get("eval_config"),
                label=f"herding · IPC {ipc} (for #{run['id']})",
            )
            try:
                rid = submit(get_store(), rc)
            except DDError as err:
                st.error(ui_message(str(err)))
                continue
            invalidate()
            picked = list(st.session_state.get(f"{P}.runs") or [])
            st.session_state[f"{P}.pending"] = picked + [rid]
            st.rerun()


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


PRESENT_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
.block-container {padding-top: 1.2rem; max-width: 100%;}
h1 {font-size: 2.4rem;} h2, h3 {font-size: 1.9rem;}
[data-testid="stTable"] table, [data-testid="stMarkdownContainer"] p,
[data-testid="stCaptionContainer"] {font-size: 1.35rem;}
[data-testid="stTable"] td, [data-testid="stTable"] th {padding: 0.45rem 0.8rem;}
</style>"""


def presentation_toggle() -> bool:
    """The presentation-mode toggle, remembered in the URL (``?present=1``): sidebar hidden, large type, less
    padding, the headline numbers first."""
    on = st.toggle(
        "Presentation mode",
        value=st.query_params.get("present") == "1",
        key=f"{P}.present",
        help="For a projector: the sidebar hidden, large type in tables and charts, less padding, the headline "
        "first. Remembered in the page's address, so a reload (or the link) keeps it.",
    )
    if on:
        st.query_params["present"] = "1"
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    elif "present" in st.query_params:
        del st.query_params["present"]
    return on


def watched(picked: list[int], by_id: dict) -> tuple:
    """What Compare shows that can still change: the picked runs' status and evaluations, and the evaluation runs
    queued for them. Compare reruns when it changes."""
    children = [r for r in list_runs(kind="evaluate", limit=None) if r["config"].get("source_run") in picked]
    runs = [by_id[i] for i in picked if i in by_id]
    return tuple((r["id"], r["status"], r.get("iteration")) for r in runs + children)


def live_watch(picked: list[int], by_id: dict, signature: tuple) -> None:
    """While a shown run or a queued evaluation of one is active: a progress line, refreshed every 2 s; the page
    reruns when any of them finishes."""
    active = [s for s in signature if s[1] in ACTIVE_STATUSES]
    if not active:
        return

    @st.fragment(run_every=2.0)
    @safe
    def watch() -> None:
        invalidate()
        now = watched(picked, {r["id"]: r for r in list_runs(kind=["distill", "evaluate"], limit=300)})
        going = [s for s in now if s[1] in ACTIVE_STATUSES]
        st.info(
            "Updating live: "
            + ", ".join(f"#{i} {status}" + (f" (iteration {it})" if it else "") for i, status, it in going)
            + " — the tables and charts refresh when each one finishes."
        )
        if now != signature:
            st.rerun(scope="app")

    watch()


def headline(table: pd.DataFrame, present: bool) -> None:
    """The headline table (``cd.headline_table``): large type in presentation mode."""
    if not len(table):
        st.caption("The picked runs have no evaluation yet.")
        return
    if present:
        st.table(table.set_index("run"))
    else:
        st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "The last evaluated set of each run (never the best checkpoint), mean ± std over its evaluation models. "
        "Random real: random real images per class at the same IPC under the same evaluation (mean of 3 subsets); "
        "gain = accuracy − random real; gap closed = (accuracy − random) / (whole − random)."
    )


def charts_block(rows: list[cd.Row], references: dict[str, cd.Row], by_id: dict, present: bool) -> None:
    store = get_store()
    datasets = list(dict.fromkeys(r.dataset for r in rows if not r.reference))
    for ds in datasets:
        mine = [r for r in rows if r.dataset == ds and not r.reference]
        bars = [
            cc.Bar(
                r.name,
                r.method,
                net,
                rec["acc_mean"],
                rec.get("acc_std"),
                int(rec.get("n_models") or 1),
                rec.get("random_acc_mean"),
            )
            for r in mine
            for net, rec in r.records.items()
        ]
        ref = references.get(ds)
        whole = {n: a[0] for n, a in ref.acc.items()} if ref else {}
        if bars:
            title = f"Test accuracy · {ds}" + (
                f" · {mine[0].protocols[0]}" if len(cd.distinct_protocols(mine)) == 1 else ""
            )
            st.plotly_chart(
                cc.accuracy_bars(bars, whole, title=title, big=present), key=f"{P}.bars.{ds}", config=PLOTLY_CONFIG
            )
        points = [
            cc.IpcPoint(r.method, r.ipc, rec["acc_mean"])
            for r in mine
            if isinstance(r.ipc, int)
            for net, rec in r.records.items()
            if net == next(iter(r.records))
        ]
        points += [
            cc.IpcPoint("random", r.ipc, rec["random_acc_mean"], "random")
            for r in mine
            if isinstance(r.ipc, int)
            for net, rec in r.records.items()
            if net == next(iter(r.records)) and rec.get("random_acc_mean") is not None
        ]
        points += published_points(ds, {p.method for p in points})
        fig = cc.acc_vs_ipc(points, ds, big=present)
        if fig is not None:
            st.plotly_chart(fig, key=f"{P}.ipc.{ds}", config=PLOTLY_CONFIG)
            st.caption(
                "Measured: each method's mean over its runs at that IPC on its first evaluation net. "
                "Open markers: published numbers (their own protocols), not measured here."
            )
    distill_rows = [r for r in rows if r.kind == "distill"]
    acc = cc.acc_vs_iteration([(r.name, r.method, store.evals(r.run_id)) for r in distill_rows], big=present)
    if acc is not None:
        st.plotly_chart(acc, key=f"{P}.acc", config=PLOTLY_CONFIG)
    losses = cc.loss_panels(
        [
            (r.name, r.method, metrics_of(str(data_home()), r.run_id, by_id[r.run_id].get("iteration")))
            for r in distill_rows
            if r.method in ("dm", "am", "pad")
        ],
        big=present,
    )
    if losses is not None:
        st.plotly_chart(losses, key=f"{P}.losses", config=PLOTLY_CONFIG)
    st.caption("Download any chart as PNG from its toolbar (camera icon).")


def published_points(dataset: str, methods: set[str]) -> list[cc.IpcPoint]:
    from dd_core.reference_results import references

    return [
        cc.IpcPoint(ref.method, ref.ipc, ref.acc / 100, "published")
        for ref in references(dataset, None)
        if ref.ipc is not None and ref.method in methods | {"random"} and ref.kind == "published"
    ]


@safe
def render() -> None:
    reap_now()
    store = get_store()
    head, toggle = st.columns([4, 1], vertical_alignment="bottom")
    head.title("Compare")
    with toggle:
        present = presentation_toggle()
    runs = [
        r
        for r in list_runs(kind=["distill", "evaluate"], limit=300)
        if not (r["kind"] == "evaluate" and r["config"].get("source_run"))
    ]
    if not runs:
        st.info("Nothing to compare yet: finish a run on the Distill page (or run a preset from the home page).")
        return
    with st.expander("Runs shown", expanded=False) if present else st.container():  # presenting: headline first
        picked = pick_runs(runs)
    if not picked:
        st.caption("Pick runs to compare.")
        return
    by_id = {r["id"]: r for r in runs}
    live_watch(picked, by_id, watched(picked, by_id))
    evaluate_runs = list_runs(kind="evaluate", limit=None)
    from dd_core.runs.references import whole_baselines

    baselines = {ds: whole_baselines(store, ds) for ds in {by_id[i]["dataset"] for i in picked}}
    rows = [cd.make_row(store, by_id[i], evaluate_runs, baselines[by_id[i]["dataset"]]) for i in picked]
    references: dict[str, cd.Row] = {}
    for ds in sorted({r.dataset for r in rows}):
        mine = [r for r in rows if r.dataset == ds]
        options = (by_id[mine[0].run_id].get("config") or {}).get("dataset_options") or {}
        ref = cd.baseline_row(store, ds, cd.nets_of(mine), options, baselines[ds])
        if ref:
            references[ds] = ref
    all_rows = rows + list(references.values())
    nets = cd.nets_of(all_rows)

    protocols = cd.distinct_protocols(rows)
    if len(protocols) > 1:
        st.warning(
            "These results come from **different evaluation protocols** (" + "; ".join(protocols) + "): "
            "epochs and model counts differ, so the numbers are not directly comparable."
        )
    for ref in references.values():
        for w in cd.reference_warnings(rows, ref):
            st.warning(w)
    for ds in sorted({r.dataset for r in rows}):
        shown_nets = cd.nets_of([r for r in rows if r.dataset == ds])
        covered = set(references[ds].acc) if ds in references else set()
        lacking = [net_label(n) for n in shown_nets if n not in covered]
        if lacking:
            others = sorted({net_label(b["net"]) for b in baselines[ds]} - {net_label(n) for n in covered})
            st.caption(
                f"No whole-dataset baseline of {', '.join(lacking)} on {ds} yet"
                + (f" (there is one of {', '.join(others)})" if others else "")
                + ": run one on the Baseline page (20 epochs is the deck's protocol) to get the reference and the "
                "share of the gap closed."
            )

    st.subheader("Headline")
    headline_rows = cd.headline_table(rows)  # shown, and downloadable below
    headline(headline_rows, present)
    if present:
        charts_block(rows, references, by_id, present)
    st.subheader("Side by side (every column)")
    st.dataframe(cd.table(all_rows, nets), hide_index=True, width="stretch")
    export = cd.table(all_rows, nets, numeric=True)
    e1, e2, e3, _ = st.columns([1, 1, 1, 2])
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
    e3.download_button(
        "Headline CSV",
        data=headline_rows.to_csv(index=False).encode(),
        file_name="distilllab-headline.csv",
        mime="text/csv",
        key=f"{P}.headline.csv",
        icon=":material/download:",
        disabled=not len(headline_rows),
    )
    report_button(picked)
    if not present:
        st.subheader("Charts")
        charts_block(rows, references, by_id, present)

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

    st.subheader("Compute")
    compute_block(rows, by_id, references)

    st.subheader("Add runs")
    herding_block(rows, by_id)
    st.caption("Evaluate on more architectures:")
    evaluate_more([by_id[i] for i in picked])
