"""The Compare page's data, without Streamlit: one row per run with the accuracies it measured per evaluation net,
the whole-dataset reference row, protocol bookkeeping, CSV/Markdown export.

Which evaluations represent a run: those at its last evaluated iteration (the final set, never the best over
checkpoints), plus finished 'evaluate' runs whose ``config.source_run`` points to it (e.g. "evaluate on more
architectures"); for a net measured more than once the latest record wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from dd_core.runs.store import RunStore

from .fmt import eval_acc, fmt_flops, fmt_seconds, md_table, method_label, net_label, net_order, protocol_text

DASH = "–"  # an empty cell: a number that does not exist (never "None")
DECK_EPOCHS = 20  # the ECE1512 deck's whole-dataset protocol: 20 epochs


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
    sweep_id: int | None = None  # the sweep the run is a trial of

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


def make_row(
    store: RunStore, run: dict, evaluate_runs: list[dict] | None = None, baselines: list[dict] | None = None
) -> Row:
    """The row of ``run``: its last evaluated set per net (plus its 'evaluate on more architectures' runs), each
    record with its random-real and whole-dataset references (``runs.references``)."""
    from dd_core.runs.references import run_evals_with_references

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
    row.sweep_id = run.get("sweep_id")
    records = run_evals_with_references(store, run, run_records(store, run, evaluate_runs), baselines)
    for rec in sorted(records, key=lambda r: r.get("t") or 0):
        if rec.get("acc_mean") is None:
            continue
        row.acc[rec["net"]] = (rec["acc_mean"], rec.get("acc_std"))
        row.records[rec["net"]] = rec
    return row


def baseline_row(
    store: RunStore,
    dataset: str,
    nets: list[str],
    dataset_options: dict | None = None,
    baselines: list[dict] | None = None,
) -> Row | None:
    """The whole-dataset reference row of ``dataset``: for each of ``nets`` the most complete finished baseline
    (most epochs, then the newest; ``runs.references.best_baseline``, the chooser the Distill headline and the
    report use too), trained on the same dataset options. Single models: no std. None without any baseline."""
    from dd_core.runs.references import best_baseline, whole_baselines

    baselines = whole_baselines(store, dataset) if baselines is None else baselines
    chosen = {n: b for n in nets if (b := best_baseline(baselines, n, dataset_options))}
    if not chosen:
        return None
    epochs = sorted({b["epochs"] for b in chosen.values()})
    first = next(iter(chosen.values()))
    row = Row(
        first["run_id"],
        f"whole {dataset} · {'/'.join(map(str, epochs))} epoch{'s' if epochs != [1] else ''} (baseline #"
        + ", #".join(str(b["run_id"]) for b in chosen.values())
        + ")",
        "baseline",
        "whole",
        dataset,
        "all",
        status="done",
        reference=True,
    )
    for net, b in chosen.items():
        row.acc[net] = (b["acc"], None)
        row.records[net] = {
            "protocol": "whole dataset",
            "epochs": b["epochs"],
            "n_models": 1,
            "net": net,
            "acc_mean": b["acc"],
            "acc_std": None,
            "seconds": b["seconds"],
            "run_id": b["run_id"],
        }
    return row


def reference_warnings(rows: list[Row], reference: Row | None, protocol_epochs: int = DECK_EPOCHS) -> list[str]:
    """Why a whole-dataset row may not be the upper bound it claims: trained for fewer epochs than the protocol,
    or scoring below a distilled set on the same net."""
    if reference is None:
        return []
    out = []
    for net, rec in reference.records.items():
        if (rec.get("epochs") or 0) < protocol_epochs:
            n = rec.get("epochs")
            out.append(
                f"The whole-dataset baseline #{rec['run_id']} ({net_label(net)}, {reference.dataset}) trained "
                f"{n} epoch{'s' if n != 1 else ''}, fewer than the {protocol_epochs}-epoch protocol: it may not be an "
                "upper bound. Train a longer one on the Baseline page."
            )
        beaten = [r for r in rows if not r.reference and r.dataset == reference.dataset and net in r.acc]
        beaten = [r for r in beaten if r.acc[net][0] > rec["acc_mean"]]
        if beaten:
            out.append(
                f"The whole-dataset baseline #{rec['run_id']} ({100 * rec['acc_mean']:.1f} % on {net_label(net)}) "
                "scores below " + ", ".join(f"{r.name} ({100 * r.acc[net][0]:.1f} %)" for r in beaten) + ": "
                "it is not an upper bound here (too few epochs or a different setting)."
            )
    return out


def headline_table(rows: list[Row]) -> pd.DataFrame:
    """The slide table: one line per run and evaluation net, with random real, the gain, the whole dataset and the
    share of the gap closed (from each record's references); '–' where a number does not exist."""
    out = []
    for r in rows:
        if r.reference:
            continue
        for net, rec in r.records.items():
            rand, gain, whole, gap = (
                rec.get(k) for k in ("random_acc_mean", "gain_over_random", "whole_acc", "gap_closed")
            )
            out.append(
                {
                    "run": r.name,
                    "method": method_label(r.method),
                    "dataset": r.dataset,
                    "IPC": str(r.ipc) if r.ipc is not None else DASH,
                    "net": net_label(net),
                    "accuracy (%)": eval_acc(rec),
                    "random real (%)": DASH if rand is None else f"{100 * rand:.1f}",
                    "gain (points)": DASH if gain is None else f"{100 * gain:+.1f}",
                    "whole dataset (%)": DASH if whole is None else f"{100 * whole:.1f} ({rec.get('whole_epochs')} ep)",
                    "gap closed": DASH if gap is None else ("below random" if gap < 0 else f"{100 * gap:.0f} %"),
                    "protocol": protocol_text(rec),
                }
            )
    return pd.DataFrame(out)


def nets_of(rows: list[Row]) -> list[str]:
    return sorted({n for r in rows for n in r.acc}, key=net_order)


def distinct_protocols(rows: list[Row]) -> list[str]:
    """The distinct (protocol · epochs × models) among the measured (non-reference) rows."""
    return sorted({p for r in rows if not r.reference for p in r.protocols})


def table(rows: list[Row], nets: list[str] | None = None, *, numeric: bool = False) -> pd.DataFrame:
    """Side-by-side table. ``numeric``: accuracy mean/std as numbers (percent) in separate columns (export);
    else 'mean ± std' strings (display). A "sweep" column (``#3``) when a run is a sweep's trial."""
    nets = nets if nets is not None else nets_of(rows)
    sweeps = any(r.sweep_id is not None for r in rows)
    out = []
    for r in rows:
        d: dict = {"run": r.run_id, "name": r.name}
        if sweeps:
            d["sweep"] = r.sweep_id if numeric else ("" if r.sweep_id is None else f"#{r.sweep_id}")
        d |= {
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
                d[f"{net_label(n)} (%)"] = DASH if m is None else eval_acc(r.records[n])
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
    df = pd.DataFrame(out)
    if numeric and sweeps:
        df["sweep"] = df["sweep"].astype("Int64")  # ids, blank for the runs of no sweep (not 3.0 / NaN)
    if not numeric and len(df):
        df = df.astype(object).where(df.notna(), DASH).replace("", DASH).map(str)  # one type per column (Arrow)
    return df


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


def ratio_text(part: float | None, whole: float | None) -> str:
    """How ``part`` compares with ``whole`` in words: '5.3× less', '1.9× more', 'the same'; '–' when unknown."""
    if not part or not whole:
        return DASH
    r = whole / part
    if abs(r - 1) < 0.05:
        return "about the same"
    return f"{r:.3g}× less" if r > 1 else f"{1 / r:.3g}× more"


def compute_rows(
    rows: list[Row],
    runs_by_id: dict[int, dict],
    references: dict[str, Row],
    shape_of: Callable[[dict], dict | None],
    forward_flops: Callable[[str, dict], float | None],
) -> list[dict]:
    """The compute table: per run and evaluation net, what producing the set cost (wall seconds on its device and an
    estimate in FLOPs, ``methods.cost``), what training on it costs, and training on the whole dataset for the
    epochs of the reference baseline (else the deck's 20). ``shape_of(run)``: :func:`data_shape`;
    ``forward_flops(net, shape)``: forward FLOPs per image (None when it cannot be counted)."""
    from dd_core.flops import training_flops
    from dd_core.methods.cost import distillation_flops

    out = []
    for r in rows:
        run = runs_by_id.get(r.run_id)
        shape = shape_of(run) if run and not r.reference else None
        if not run or not shape:
            continue
        k, n_train = int(shape["num_classes"]), int(shape.get("train_size") or 0)
        ipc = r.ipc if isinstance(r.ipc, int) else None
        summary, cfg = run.get("summary") or {}, run.get("config") or {}
        distill_text, distill = DASH, None
        if r.kind == "distill" and r.method:
            net = summary.get("net") or (cfg.get("method_options") or {}).get("net")
            fpi = forward_flops(net, shape) if net else None
            if fpi and n_train:
                try:
                    distill = distillation_flops(
                        r.method, cfg.get("method_options") or {}, fpi, k, n_train, int(r.iterations or 0)
                    ).total
                except Exception:  # noqa: BLE001 - an old run's options the config no longer accepts
                    distill = None
            seconds = (r.seconds_setup or 0) + (r.seconds_distill or 0)
            distill_text = f"{fmt_seconds(seconds)} on {r.device or '?'}" + (
                f" · ≈ {fmt_flops(distill)}" if distill else ""
            )
        ref = references.get(r.dataset)
        for net, rec in r.records.items():
            fpi = forward_flops(net, shape)
            if not fpi:
                continue
            n_models = int(rec.get("n_models") or 1)
            syn = training_flops(int(fpi), k * ipc, int(rec.get("epochs") or 0)) * n_models if ipc else None
            base_epochs = int((ref.records.get(net) or {}).get("epochs") or DECK_EPOCHS) if ref else DECK_EPOCHS
            whole = training_flops(int(fpi), n_train, base_epochs) if n_train else None
            out.append(
                {
                    "run": r.name,
                    "net": net_label(net),
                    "distillation (wall · FLOPs estimate)": distill_text,
                    "train on the set": DASH
                    if syn is None or ipc is None
                    else f"{fmt_flops(syn)} ({k * ipc} images × {rec.get('epochs')} ep × {n_models})",
                    "train on the whole dataset": DASH
                    if whole is None
                    else f"{fmt_flops(whole)} ({n_train:,} images × {base_epochs} ep)",
                    "set vs whole": ratio_text(syn, whole),
                    "distill + set vs whole": ratio_text((distill or 0) + syn, whole) if distill and syn else DASH,
                }
            )
    return out
