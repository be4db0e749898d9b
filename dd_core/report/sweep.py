"""The sweep part of a report (``python -m dd_core report --sweep ID``): the sweep's trial runs, its spec in a few
lines (methods, grid, seeds, status) and its Table 1 (``dd_core.sweeps.table``), drawn above the runs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError
from ..runs.store import RunStore
from ..runs.sweeps import get_sweep, trial_runs
from ..sweeps.results import sweep_results
from ..sweeps.table import (
    BEST_NOTE,
    NOTE,
    Table1,
    attach_ipc,
    best_per_method,
    best_run,
    best_text,
    markdown,
    table1,
    table_rows,
)
from ..sweeps.trials import Trial, trials_of
from . import html
from .data import REPORTED_KINDS
from .text import method_label

STATUSES = ("done", "failed", "cancelled", "interrupted", "running", "queued")


@dataclass
class SweepPart:
    """A sweep as the report shows it: its row, its trials' results, their Table 1 and the runs to report."""

    sweep: dict
    trials: list[Trial]
    results: list[dict]
    table: Table1
    runs: list[dict]

    @property
    def id(self) -> int:
        return int(self.sweep["id"])


def sweep_part(store: RunStore, sweep_id: int) -> SweepPart:
    """Sweep ``sweep_id`` read from the store; ConfigError(field='sweep') naming the id and the store when there is
    no such sweep or it has no trial run yet."""
    sweep = get_sweep(store, sweep_id)
    if sweep is None:
        raise ConfigError(
            f"no sweep #{sweep_id} in the run store ({store.path}); `python -m dd_core runs --json` gives each run "
            "its sweep_id",
            field="sweep",
        )
    trials = trials_of(sweep["spec"])
    runs = [r for _, r in sorted(trial_runs(store, sweep_id).items()) if r["kind"] in REPORTED_KINDS]
    if not runs:
        raise ConfigError(f"sweep #{sweep_id} has no trial run to report yet ({store.path})", field="sweep")
    results = attach_ipc(sweep_results(store, sweep_id, trials), trials)
    return SweepPart(sweep, trials, results, table1(results), runs)


def spec_summary(part: SweepPart) -> dict:
    """``{"id", "status", "methods", "dataset", "grid": {key: [values]}, "seeds", "n_trials", "counts",
    "created_at", "finished_at"}``: what the sweep ran, from its stored spec and its trials' results."""
    grid: dict[str, list] = {}
    for t in part.trials:
        for k, v in t.params.items():
            if v not in grid.setdefault(k, []):
                grid[k].append(v)
    fixed = part.sweep["spec"].get("fixed") or {}
    datasets = list(dict.fromkeys(str(t.config.get("dataset")) for t in part.trials if t.config.get("dataset")))
    counts = {s: n for s in STATUSES if (n := sum(1 for r in part.results if r["status"] == s))}
    return {
        "id": part.id,
        "status": part.sweep["status"],
        "methods": list(dict.fromkeys(t.method for t in part.trials)),
        "dataset": ", ".join(datasets) or fixed.get("dataset"),
        "grid": grid,
        "seeds": list(dict.fromkeys(t.seed for t in part.trials)),
        "n_trials": len(part.trials),
        "counts": counts,
        "created_at": part.sweep.get("created_at"),
        "finished_at": part.sweep.get("finished_at"),
    }


def when(t: float | None) -> str:
    return "—" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def summary_rows(s: dict) -> list[dict]:
    """The spec summary as setting / value rows."""
    grid = "; ".join(f"{k} = {', '.join(map(str, vs))}" for k, vs in s["grid"].items()) or "none (one point)"
    seeds = ", ".join("default" if x is None else str(x) for x in s["seeds"])
    counts = ", ".join(f"{n} {status}" for status, n in s["counts"].items())
    rows = [
        ("status", s["status"]),
        ("methods", ", ".join(method_label(m) for m in s["methods"])),
        ("dataset", s["dataset"] or "?"),
        ("grid", grid),
        ("seeds", seeds),
        ("trials", f"{s['n_trials']} ({counts})" if counts else s["n_trials"]),
        ("started", when(s["created_at"])),
        ("finished", when(s["finished_at"])),
    ]
    return [{"setting": k, "value": v} for k, v in rows]


def best_line(results: list[dict]) -> str:
    """Each method's best configuration (by mean gain over random real across seeds) and its best seed's run."""
    cells = best_per_method(results)
    if not cells:
        return '<p class="note">No trial finished yet.</p>'
    items = []
    for cell in cells:
        run = best_run(cell, results)
        seed = f" (best seed {html.esc(run['seed'])}: run #{run['run_id']})" if run else ""
        items.append(f"<li>{html.esc(best_text(cell, method_label(cell.method)))}{seed}</li>")
    return (
        "<p>Best configuration of each method, by mean gain over random real across seeds:</p><ul>"
        + "".join(items)
        + "</ul>"
    )


def section(part: SweepPart) -> str:
    """The report's sweep section: the spec summary, Table 1 (methods × IPC) and the best trial."""
    s = spec_summary(part)
    rows = table_rows(part.table)
    for r in rows:
        r["method"] = method_label(r["method"])
    note = NOTE + (f" {BEST_NOTE}" if part.table.keys else "")
    return "\n".join(
        [
            f"<h2>Sweep #{part.id}</h2>",
            html.table(summary_rows(s)),
            "<h3>Table 1 · methods × IPC</h3>",
            html.table(rows) if rows else '<p class="note">No trial.</p>',
            f'<p class="note">{html.esc(note)}</p>',
            best_line(part.results),
        ]
    )


def write_tables(part: SweepPart, folder: Path) -> list[Path]:
    """Table 1 beside the slide figures: ``sweep-N-table1.md`` (Markdown, for slides and docs) and
    ``sweep-N-table1.csv`` (numbers in percent); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"sweep-{part.id}-table1.md"
    md.write_text(markdown(part.table), encoding="utf-8")
    rows = table_rows(part.table, numeric=True)
    path = folder / f"sweep-{part.id}-table1.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["method"])
        writer.writeheader()
        writer.writerows(rows)
    return [md, path]
