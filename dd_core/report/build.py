"""``build_report(store, run_ids)``: the one-file HTML report of runs (``python -m dd_core report``, the Compare
page's download). Everything is inline (styles, plotly.js once, images as data URIs): it opens offline."""

from __future__ import annotations

import io

from PIL import Image

from ..grids import labelled_grid, png_bytes
from ..labels import method_color, net_label
from ..reference_results import alias_note, references
from ..runs.store import RunStore
from ..synthetic import SyntheticSet
from . import html, plots
from .attention import attention_pictures
from .data import Entry, Group, collect, groups, select_runs
from .environment import environment
from .gif import snapshots_gif
from .series import bars, ipc_series, loss_curves, wholes
from .sweep import section as sweep_section
from .sweep import sweep_part
from .text import acc_text, figure_title, method_label, percent, points, protocol_short, protocol_words

GIF_BYTES = 1_000_000  # the report embeds each run's animation at most this big
PROTOCOL_TEXT = (
    "Every accuracy is that of the LAST synthetic set of a run (never the best over evaluated checkpoints), "
    "measured by training fresh networks from scratch on the set and testing them on the real test set; mean ± "
    "standard deviation over those networks (one network has no spread). <b>Random real</b>: K random real images "
    "per class (the same IPC) trained with exactly the same evaluation (3 random subsets), the floor a distilled "
    "set must beat; the <b>gain</b> is the difference in points. <b>Whole dataset</b>: the most complete "
    "whole-dataset baseline trained for that dataset and net (most epochs, then newest); <b>gap closed</b> = "
    "(acc − random) / (whole − random). Runs are compared only within a group of the same dataset and the same "
    "evaluation protocol."
)


def build_report(store: RunStore, run_ids: list[int] | None = None) -> str:
    """The report of ``run_ids`` (None: every distillation and evaluation run) as one self-contained HTML file.
    An unknown id raises ConfigError(field='runs') naming the valid ones."""
    entries = collect(store, select_runs(store, run_ids))
    return render(entries, groups(entries), environment())


def build_sweep_report(store: RunStore, sweep_id: int) -> str:
    """The report of sweep ``sweep_id``'s trial runs with the sweep's section (its spec and Table 1) at the top.
    An unknown sweep raises ConfigError(field='sweep') naming the id and the store."""
    part = sweep_part(store, sweep_id)
    entries = collect(store, part.runs)
    return render(entries, groups(entries), environment(), top=sweep_section(part), title=f"sweep #{part.id}")


def render(entries: list[Entry], group_list: list[Group], env: dict, *, top: str = "", title: str = "") -> str:
    """The page; ``top``: a section drawn above the runs (a sweep's), ``title``: what the report is of."""
    charts = [False]  # set once a Plotly chart is drawn: plotly.js goes into the head then, once

    def chart(fig) -> str:
        charts[0] = True
        return html.figure(fig)

    heading = "DistillLab report" + (f" · {title}" if title else "")
    parts = [
        f"<h1>{html.esc(heading)}</h1>",
        f'<p class="meta">{html.esc(env["date"])} · DistillLab {html.esc(env["version"])} · made on '
        f"{html.esc(device_text(env))} (PyTorch {html.esc(env['torch'])}) · "
        f"{len(entries)} run{'s' if len(entries) != 1 else ''}</p>",
        *([top] if top else []),
        overview(entries, group_list),
    ]
    for i, g in enumerate(group_list, start=1):
        parts.append(group_section(i, g, chart))
    parts.append(published_section(entries))
    parts.append(f"<h2>Protocol</h2><p>{PROTOCOL_TEXT}</p>")
    parts += [
        f"<p>Group {i} ({html.esc(g.dataset)}): {html.esc(group_protocol(g))}.</p>" for i, g in enumerate(group_list, 1)
    ]
    return html.page(heading, "\n".join(parts), plotly_js=charts[0])


def device_text(env: dict) -> str:
    """'cpu (2 threads)', 'cuda:0 (NVIDIA H100), 16 CPU threads'."""
    device = str(env["device"])
    return device if "threads" in device else f"{device}, {env['threads']} CPU threads"


def overview(entries: list[Entry], group_list: list[Group]) -> str:
    rows = [
        {
            "run": f"#{e.id}",
            "method": method_label(e.method),
            "dataset": e.dataset,
            "IPC": e.ipc,
            "status": e.status,
            "group": next(i for i, g in enumerate(group_list, 1) if e in g.entries),
        }
        for e in entries
    ]
    note = ""
    if len(group_list) > 1:
        datasets = {g.dataset for g in group_list}
        protocols = {g.protocol for g in group_list}
        what = " and ".join(
            w for w, n in (("datasets", len(datasets)), ("evaluation protocols", len(protocols))) if n > 1
        )
        note = (
            f'<p class="warn">These runs cover different {what}: they are shown in {len(group_list)} groups, and '
            "accuracies are compared only within a group.</p>"
        )
    return f"<h2>Runs</h2>{note}{html.table(rows, numeric=('IPC',))}"


def group_protocol(g: Group) -> str:
    first = g.entries[0]
    return protocol_words(first.eval_config or {}, first.nets)


def group_section(i: int, g: Group, chart) -> str:
    title = figure_title([e.method for e in g.entries], [g.dataset], [e.ipc for e in g.entries], [g.protocol])
    out = [f"<h2>Group {i}: {html.esc(g.dataset)} · {html.esc(g.protocol)}</h2>"]
    items = bars(g)
    if items:
        out.append(chart(plots.accuracy_figure(items, f"Test accuracy of the last set · {title}")))
    series, random = ipc_series(g)
    if series:
        out.append(chart(plots.ipc_figure(series, random, wholes(items), f"Accuracy vs IPC · {title}")))
    curves = loss_curves(g.entries)
    if curves:
        out.append(chart(plots.loss_figure(curves, f"Loss (one panel per method: their objectives differ) · {title}")))
    out += [run_section(e) for e in g.entries]
    return "\n".join(out)


def run_section(e: Entry) -> str:
    swatch = f'<span class="swatch" style="background:{method_color(e.method)}"></span>'
    out = [
        f"<h3>{swatch}{html.esc(e.name)} · {html.esc(e.dataset)} "
        f'<span class="status {html.esc(e.status)}">{html.esc(e.status)}</span></h3>'
    ]
    if e.status != "done":
        why = f": {e.run['error']}" if e.run.get("error") else ""
        out.append(f'<p class="warn">This run is {html.esc(e.status)}{html.esc(why)}. Shown: what it recorded.</p>')
    out.append(html.table(settings_rows(e)))
    if e.evals:
        out.append(html.table(headline_rows(e), numeric=("accuracy", "random real", "gain", "whole dataset")))
    else:
        out.append('<p class="note">No evaluation recorded.</p>')
    out.append(html.table([compute_row(e)]))
    out.append(pictures(e))
    return "\n".join(out)


def settings_rows(e: Entry) -> list[dict]:
    s, mopts = e.summary, e.config.get("method_options") or {}
    rows = [("method", method_label(e.method)), ("dataset", e.dataset), ("IPC", e.ipc)]
    opts = e.config.get("dataset_options") or {}
    if opts:
        rows.append(("dataset options", ", ".join(f"{k} {v}" for k, v in sorted(opts.items()))))
    if e.run["kind"] == "distill":
        done = s.get("iterations", e.run.get("iteration"))
        total = e.run.get("total_iterations") or e.config.get("iterations")
        rows += [
            ("init", s.get("init") or mopts.get("init") or "real"),
            ("iterations", f"{done if done is not None else 0} of {total}" if done != total else total),
            ("distilled with", net_label(s.get("net") or mopts.get("net"))),
        ]
    elif e.config.get("synthetic_path"):
        rows.append(("evaluated set", e.config["synthetic_path"]))
    rows.append(("evaluation", protocol_words(e.eval_config, e.nets)))
    return [{"setting": k, "value": v} for k, v in rows]


def headline_rows(e: Entry) -> list[dict]:
    out = []
    for r in e.evals:
        rand = r.get("random_acc_mean")
        whole = r.get("whole_acc")
        out.append(
            {
                "net": net_label(r.get("net")),
                "iteration": r.get("iteration"),
                "accuracy": acc_text(r),
                "random real": percent(rand) if rand is not None else (r.get("reference_error") or "not measured"),
                "gain": points(r.get("gain_over_random")),
                "whole dataset": (
                    f"{percent(whole)} ({r.get('whole_epochs')} epochs)" if whole is not None else "no baseline trained"
                ),
                "gap closed": gap_cell(r.get("gap_closed")),
                "protocol": protocol_short(r.get("protocol"), r.get("epochs"), r.get("n_models")),
            }
        )
    return out


def gap_cell(gap: float | None) -> str:
    """'67 %'; a set below random real closed none of the gap (the ratio would read '-1354 %')."""
    if gap is None:
        return "—"
    return "below random real" if gap < 0 else percent(gap, 0)


def compute_row(e: Entry) -> dict:
    s = e.summary
    seconds = s.get("seconds_distill", s.get("seconds", e.run.get("seconds")))
    spi = s.get("seconds_per_iteration")
    return {
        "distillation wall time" if e.run["kind"] == "distill" else "wall time": (
            "—" if seconds is None else f"{seconds:.1f} s"
        ),
        "set-up": "—" if s.get("seconds_setup") is None else f"{s['seconds_setup']:.1f} s",
        "s / iteration": "—" if not spi else f"{spi:.3f}",
        "device": s.get("device") or e.run.get("device") or "?",
    }


def grid_png(path: str) -> tuple[bytes, int | None, int]:
    """(PNG of the set's labelled grid, its iteration, the width to show it at: small grids up to twice their
    size)."""
    syn = SyntheticSet.load(path)
    grid = labelled_grid(syn, max_per_class=10)
    return png_bytes(grid), syn.meta.get("iteration"), shown_width(grid.width, grid.height)


def shown_width(width: int, height: int) -> int:
    """The width to show a picture at: small ones up to twice their size (pixelated), never over 800 px tall."""
    zoom = min(2.0, max(1.0, 800 / height)) if width < 400 else 1.0
    return round(width * zoom)


def pictures(e: Entry) -> str:
    """Initial → final (or latest) grids, the snapshots' animation, AM's attention maps."""
    last = e.final_set()
    if last is None:
        return ""
    cells = []
    png, it, width = grid_png(last)
    if e.snapshots and e.snapshots[0]["iteration"] != it:
        first, first_it, first_width = grid_png(e.snapshots[0]["abs_path"])
        caption = f"initial (iteration {first_it})"
        cells.append(html.image(first, "image/png", f"run {e.id} initial set", caption, width=first_width))
    word = "final" if e.finished else f"latest ({e.status})"
    cells.append(html.image(png, "image/png", f"run {e.id} {word} set", f"{word} (iteration {it})", width=width))
    if len(e.snapshots) > 1:
        total = e.run.get("total_iterations") or e.config.get("iterations")
        gif = snapshots_gif([(s["iteration"], s["abs_path"]) for s in e.snapshots], total, max_bytes=GIF_BYTES)
        caption = f"the {len(e.snapshots)} kept snapshots, one frame each"
        with Image.open(io.BytesIO(gif)) as im:
            gif_width = shown_width(*im.size)
        cells.append(html.image(gif, "image/gif", f"run {e.id} snapshots", caption, width=gif_width))
    out = [f'<div class="pair">{"".join(cells)}</div>']
    if e.method == "am":
        out.append(attention_block(e))
    return "\n".join(out)


def attention_block(e: Entry) -> str:
    pics = attention_pictures(e)
    if isinstance(pics, str):
        return f'<p class="note">Attention maps: {html.esc(pics)}.</p>'
    return (
        "<h4>Attention maps (what AM matches)</h4>"
        f'<div class="pair">{html.image(pics.real_png, "image/png", "real attention", "real images")}'
        f"{html.image(pics.syn_png, 'image/png', 'synthetic attention', 'synthetic images')}</div>"
        f'<p class="note">{html.esc(pics.caption)}</p>'
    )


def published_section(entries: list[Entry]) -> str:
    """Published numbers for the runs' datasets and IPCs, in their own table with their sources."""
    seen, rows = set(), []
    for ds, ipc in sorted({(e.dataset, e.ipc) for e in entries}, key=lambda x: (x[0], x[1] or 0)):
        for ref in references(ds, ipc):
            if ref in seen:
                continue
            seen.add(ref)
            rows.append(
                {
                    "method": method_label(ref.method),
                    "dataset": ref.dataset,
                    "IPC": "all" if ref.method == "whole" else (ref.ipc if ref.ipc is not None else "unstated"),
                    "accuracy (%)": f"{ref.acc:.1f}" + (f" ± {ref.std:.1f}" if ref.std is not None else ""),
                    "net": net_label(ref.net),
                    "protocol": ref.protocol,
                    "source": ref.source + ("" if ref.kind == "published" else " (recalled)"),
                    "note": "; ".join(x for x in (ref.note, alias_note(ds)) if x),
                }
            )
    if not rows:
        return "<h2>Published numbers</h2><p class='note'>None recorded for these datasets and IPCs.</p>"
    return (
        "<h2>Published numbers</h2><p class='note'>From the papers, under their own protocols: beside the measured "
        f"numbers, never mixed into them.</p>{html.table(rows, numeric=('accuracy (%)',))}"
    )
