"""The Compare page's data, without Streamlit: one row per run with the accuracies it measured per evaluation net,
the whole-dataset reference row, protocol bookkeeping, CSV/Markdown export.

Which evaluations represent a run: those at its last evaluated iteration (the final set, never the best over
checkpoints), plus finished 'evaluate' runs whose ``config.source_run`` points to it (e.g. "evaluate on more
architectures"); for a net measured more than once the latest record wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dd_core.runs.store import RunStore

from .fmt import md_table, method_label, net_label, net_order, protocol_text


@dataclass
class Row:
    run_id: int
    name: str
    kind: str  # distill | evaluate | baseline
    method: str
    dataset: str
    ipc: int | str | None
    init: str | None = None
    iterations: int | None = None
    seconds_distill: float | None = None
    seconds_setup: float | None = None  # building the method: herding's feature net, PAD's scores and experts
    seconds_per_iteration: float | None = None
    device: str | None = None
    status: str | None = None
    acc: dict = field(default_factory=dict)  # net -> (mean, std) in [0, 1]
    records: dict = field(default_factory=dict)  # net -> the eval record used
    reference: bool = False  # the whole-dataset baseline row

    @property
    def protocols(self) -> list[str]:
        return sorted({protocol_text(r) for r in self.records.values()})


def final_evals(evals: list[dict]) -> list[dict]:
    """The evaluations at the last evaluated iteration."""
    its = [int(e["iteration"]) for e in evals if e.get("iteration") is not None]
    if not its:
        return list(evals)
    last = max(its)
    return [e for e in evals if e.get("iteration") == last]


def evaluate_children(store: RunStore, run_id: int, evaluate_runs: list[dict] | None = None) -> list[dict]:
    """Finished 'evaluate' runs of ``run_id``'s set (config.source_run == run_id), oldest first."""
    runs = evaluate_runs if evaluate_runs is not None else store.list_runs(kind="evaluate", limit=None)
    return sorted(
        (r for r in runs if r["config"].get("source_run") == run_id and r["status"] == "done"), key=lambda r: r["id"]
    )


def run_records(store: RunStore, run: dict, evaluate_runs: list[dict] | None = None) -> list[dict]:
    recs = [dict(e, t=e.get("t", 0)) for e in final_evals(store.evals(run["id"]))]
    if run["kind"] == "distill":
        for child in evaluate_children(store, run["id"], evaluate_runs):
            recs += [dict(e, via_run=child["id"]) for e in store.evals(child["id"])]
    return recs


def make_row(store: RunStore, run: dict, evaluate_runs: list[dict] | None = None) -> Row:
    summary = run.get("summary") or {}
    cfg = run.get("config") or {}
    mopts = cfg.get("method_options") or {}
    if run["kind"] == "evaluate":
        meta_method = summary.get("method") or ("random" if not cfg.get("synthetic_path") else "imported set")
        row = Row(
            run["id"],
            run.get("label") or f"#{run['id']} evaluate",
            "evaluate",
            meta_method,
            run["dataset"],
            summary.get("ipc") or run.get("ipc"),
            device=run.get("device"),
            status=run["status"],
        )
    else:
        row = Row(
            run["id"],
            run.get("label") or f"#{run['id']} {method_label(run['method'])}",
            run["kind"],
            run["method"] or "",
            run["dataset"],
            run.get("ipc"),
            init=summary.get("init") or mopts.get("init") or "real",
            iterations=summary.get("iterations", run.get("iteration")),
            seconds_distill=summary.get("seconds_distill", run.get("seconds")),
            seconds_setup=summary.get("seconds_setup"),
            seconds_per_iteration=summary.get("seconds_per_iteration"),
            device=summary.get("device") or run.get("device"),
            status=run["status"],
        )
        if row.seconds_per_iteration is None and row.seconds_distill and row.iterations:
            row.seconds_per_iteration = row.seconds_distill / row.iterations
    if not row.name.startswith("#"):
        row.name = f"#{run['id']} {row.name}"
    for rec in sorted(run_records(store, run, evaluate_runs), key=lambda r: r.get("t") or 0):
        if rec.get("acc_mean") is None:
            continue
        row.acc[rec["net"]] = (rec["acc_mean"], rec.get("acc_std"))
        row.records[rec["net"]] = rec
    return row


def baseline_row(store: RunStore, dataset: str, baselines: list[dict] | None = None) -> Row | None:
    """The latest finished whole-dataset baseline of ``dataset`` as a reference row (single model: no std)."""
    runs = baselines if baselines is not None else store.list_runs(kind="baseline", status="done", dataset=dataset)
    runs = [r for r in runs if r["dataset"] == dataset and r["status"] == "done" and r.get("summary")]
    if not runs:
        return None
    run = max(runs, key=lambda r: r["created_at"])
    s = run["summary"]
    net = s.get("net") or (run["config"].get("baseline") or {}).get("net")
    row = Row(
        run["id"],
        f"#{run['id']} whole {dataset} (baseline)",
        "baseline",
        "whole dataset",
        dataset,
        "all",
        iterations=None,
        seconds_distill=None,
        device=s.get("device") or run.get("device"),
        status=run["status"],
        reference=True,
    )
    if s.get("test_acc") is not None and net:
        row.acc[net] = (s["test_acc"], None)
        cfg = s.get("config") or {}
        row.records[net] = {
            "protocol": "whole dataset",
            "epochs": s.get("epochs"),
            "n_models": 1,
            "net": net,
            "acc_mean": s["test_acc"],
            "acc_std": None,
            "seconds": s.get("seconds"),
            "detail": f"SGD lr {cfg.get('lr')} momentum {cfg.get('momentum')}, cosine, batch {cfg.get('batch_size')}",
        }
    return row


def nets_of(rows: list[Row]) -> list[str]:
    return sorted({n for r in rows for n in r.acc}, key=net_order)


def distinct_protocols(rows: list[Row]) -> list[str]:
    """The distinct (protocol · epochs × models) among the measured (non-reference) rows."""
    return sorted({p for r in rows if not r.reference for p in r.protocols})


def table(rows: list[Row], nets: list[str] | None = None, *, numeric: bool = False) -> pd.DataFrame:
    """Side-by-side table. ``numeric``: accuracy mean/std as numbers (percent) in separate columns (export);
    else 'mean ± std' strings (display)."""
    nets = nets if nets is not None else nets_of(rows)
    out = []
    for r in rows:
        d = {
            "run": r.run_id,
            "name": r.name,
            "method": method_label(r.method),
            "dataset": r.dataset,
            "IPC": str(r.ipc) if r.ipc is not None else "",
            "init": r.init or "",
        }
        for n in nets:
            m = r.acc.get(n)
            if numeric:
                d[f"{net_label(n)} acc (%)"] = None if m is None else round(100 * m[0], 2)
                d[f"{net_label(n)} std (%)"] = None if m is None or m[1] is None else round(100 * m[1], 2)
            else:
                d[f"{net_label(n)} (%)"] = (
                    ""
                    if m is None
                    else (f"{100 * m[0]:.2f} ± {100 * m[1]:.2f}" if m[1] is not None else f"{100 * m[0]:.2f}")
                )
        d.update(
            {
                "protocol": "; ".join(r.protocols),
                "iterations": r.iterations,
                "setup (s)": _round(r.seconds_setup, 1),
                "distill time (s)": _round(r.seconds_distill, 1),
                "s / iteration": _round(r.seconds_per_iteration, 4),
                "device": r.device or "",
            }
        )
        out.append(d)
    return pd.DataFrame(out)


def _round(v, nd):
    return None if v is None else round(float(v), nd)


def to_markdown(df: pd.DataFrame) -> str:
    """The table as a Markdown file to download (every column kept; see :func:`fmt.md_table`)."""
    return md_table(df.to_dict("records"), for_page=False) + "\n"


def published_table(datasets_ipcs: set[tuple[str, int | None]], methods: set[str] | None = None) -> pd.DataFrame:
    """Published (recalled) numbers for the datasets/IPCs on screen, labelled with source and protocol."""
    from dd_core.reference_results import alias_note, references

    seen, out = set(), []
    for dataset, ipc in sorted(datasets_ipcs, key=lambda x: (x[0], x[1] or 0)):
        for ref in references(dataset, ipc if isinstance(ipc, int) else None):
            if methods is not None and ref.method not in methods | {"whole"}:
                continue
            key = (ref, dataset)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "published": "published" if ref.kind == "published" else "recalled (seed deck)",
                    "method": method_label(ref.method),
                    "dataset": ref.dataset,
                    "IPC": "all" if ref.method == "whole" else (str(ref.ipc) if ref.ipc is not None else "unstated"),
                    "accuracy (%)": ref.acc,
                    "net": net_label(ref.net),
                    "protocol": ref.protocol,
                    "note": "; ".join(x for x in (ref.note, alias_note(dataset)) if x),
                    "source": ref.source,
                }
            )
    return pd.DataFrame(out)


def data_shape(store: RunStore, run: dict) -> dict | None:
    """channels / image_size / num_classes / train_size of a run's data (from its set's metadata when it has one,
    else the dataset registry)."""
    from dd_core.data import dataset_info

    info = {}
    try:
        info = dataset_info(run["dataset"])
    except Exception:  # noqa: BLE001
        pass
    shape = {k: info.get(k) for k in ("channels", "image_size", "num_classes", "train_size")}
    opts = (run.get("config") or {}).get("dataset_options") or {}
    for k in ("channels", "image_size"):
        if opts.get(k):
            shape[k] = opts[k]
    path = (run.get("summary") or {}).get("synthetic_path") or (run.get("config") or {}).get("synthetic_path")
    if path and not all(shape.get(k) for k in ("channels", "image_size", "num_classes")):
        try:
            from dd_core.synthetic import SyntheticSet

            meta = SyntheticSet.load(path).meta
            shape.update({k: meta[k] for k in ("channels", "image_size", "num_classes")})
        except Exception:  # noqa: BLE001
            return None
    return shape if all(shape.get(k) for k in ("channels", "image_size", "num_classes")) else None
