"""How the pages write things: run titles, labels of methods and nets, numbers with units, Markdown tables."""

from __future__ import annotations

import math
import time

from dd_core.labels import fmt_acc, gap_text, net_label, pct
from dd_core.labels import protocol_text as protocol_text  # re-exported: the pages spell protocols through fmt
from dd_core.runs.store import ACTIVE_STATUSES

STATUS_ICON = {"queued": "…", "running": "▸", "done": "✓", "failed": "✗", "cancelled": "■", "interrupted": "!"}


STATUS_COLOR = {
    "queued": "gray",
    "running": "blue",
    "done": "green",
    "failed": "red",
    "cancelled": "orange",
    "interrupted": "orange",
}


PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def method_label(name: str | None) -> str:
    """The method's own label (``Method.label``: one per method, for every page); 'whole dataset' for baselines."""
    from dd_core.methods import METHODS  # the registry imports PyTorch: only when a label is first needed

    if name == "whole":
        return "whole dataset"
    cls = METHODS.get(name or "")
    return cls.label if cls is not None else (name or "?")


def method_description(name: str) -> str:
    """The method's one-paragraph description (``Method.description``, Markdown)."""
    from dd_core.methods import METHODS

    cls = METHODS.get(name)
    return cls.description if cls is not None else ""


def net_order(name: str) -> tuple:
    order = ["convnet", "lenet", "alexnet", "vgg11", "resnet18", "mlp"]
    base = next((i for i, p in enumerate(order) if name.startswith(p)), len(order))
    return base, name


def run_title(run: dict, *, with_status: bool = True) -> str:
    """'#12 DM · mnist-5k · IPC 10 — label (done)'. Select boxes use ``with_status=False``: a keyed widget keeps
    showing the label it had when its options' texts change (the status is shown next to them instead)."""
    kind = run["kind"]
    if kind == "distill":
        what = f"{method_label(run['method'])} · {run['dataset']} · IPC {run['ipc']}"
    elif kind == "baseline":
        net = (run["config"].get("baseline") or {}).get("net") or "default net"
        what = f"whole {run['dataset']} · {net_label(net)}"
    elif kind == "evaluate":
        src = run["config"].get("source_run")
        what = f"evaluate {'run #' + str(src) if src else 'set'} · {run['dataset']}"
    else:
        what = kind
    lab = run.get("label") or ""
    label = f" — {lab}" if lab and lab.lower() not in what.lower() else ""
    status = f" ({STATUS_ICON.get(run['status'], '')} {run['status']})" if with_status else ""
    return f"#{run['id']} {what}{label}{status}"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|$~#"})


def md_table(rows: list[dict], *, for_page: bool = True) -> str:
    """Rows with the same keys → a Markdown table, one line per row (no pandas: the home page needs neither pandas
    nor PyTorch for its tables). ``for_page``: drawn by ``st.markdown``, so every Markdown character is escaped and
    columns empty in every row are left out; else a file to download (only ``|`` escaped, every column kept).
    Missing values (None, NaN) are empty cells."""
    if not rows:
        return ""

    def text(v) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else " ".join(str(v).split())

    cols = [c for c in rows[0] if not for_page or any(text(r.get(c)) for r in rows)]
    esc = (lambda s: s.translate(_MD_SPECIAL) or " ") if for_page else (lambda s: s.replace("|", "\\|"))
    lines = ["| " + " | ".join(esc(str(c)) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(esc(text(r.get(c))) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def fmt_flops(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, div in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g} {unit}FLOPs"
    return f"{n:.0f} FLOPs"


def eval_acc(rec: dict, unit: str = "") -> str:
    """An evaluation record's accuracy as :func:`fmt_acc` writes it."""
    return fmt_acc(rec.get("acc_mean"), rec.get("acc_std"), rec.get("n_models"), unit)


def run_seconds(run: dict) -> float | None:
    end = run.get("finished_at") or (time.time() if run["status"] in ACTIVE_STATUSES else run.get("heartbeat"))
    return end - run["started_at"] if run.get("started_at") and end else None


def last_eval(evals: list[dict], net: str | None = None) -> dict | None:
    """The evaluation a headline reports: one of the LAST iteration (DistillLab reports the last set, never the
    best); ``net``'s record when that net was evaluated there, else the first recorded."""
    if not evals:
        return None
    last_it = max(e.get("iteration") or 0 for e in evals)
    last = [e for e in evals if (e.get("iteration") or 0) == last_it]
    return next((e for e in last if net and e.get("net") == net), last[0])


def random_text(rec: dict) -> str:
    """'random real 61.2 % (+25.2 points)', or why there is none: 'random real: not measured'."""
    rand = rec.get("random_acc_mean")
    if rand is None:
        return f"random real: {rec.get('reference_error') or 'not measured'}"
    gain = rec.get("gain_over_random")  # filled by the engine, or by runs.references for older records
    return f"random real {pct(rand)}" + ("" if gain is None else f" ({100 * gain:+.1f} points)")


def whole_text(rec: dict) -> str | None:
    """'whole dataset 98.9 % (20 epochs; 67 % of the gap closed)', or None without a whole-dataset baseline."""
    if rec.get("whole_acc") is None:
        return None
    inside = [f"{rec['whole_epochs']} epochs"] if rec.get("whole_epochs") else []
    if rec.get("gap_closed") is not None:
        inside.append(gap_text(rec["gap_closed"]))
    return f"whole dataset {pct(rec['whole_acc'])}" + (f" ({'; '.join(inside)})" if inside else "")


def headline_text(rec: dict, *, method: str | None = None, ipc: int | None = None) -> str:
    """The lesson of one evaluation record in one line, for the Distill page, Compare and the report: 'DM IPC 1
    ConvNet-3: 86.4 % · random real 61.2 % (+25.2 points) · whole dataset 98.9 % (20 epochs; 67 % of the gap
    closed)'. Reads the reference keys of ``runs.references.run_evals_with_references``; missing ones degrade (no
    reference: 'random real: not measured'; no baseline: no whole-dataset part)."""
    who = " ".join(
        p for p in (method_label(method) if method else "", f"IPC {ipc}" if ipc else "", net_label(rec.get("net"))) if p
    )
    acc = rec.get("acc_mean")
    parts = [f"{who}: {'—' if acc is None else pct(acc)}", random_text(rec)]
    whole = whole_text(rec)
    if whole:
        parts.append(whole)
    return " · ".join(parts)
