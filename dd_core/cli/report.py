"""``python -m dd_core report``: one self-contained HTML file of runs, and (``--figures DIR``) slide-ready PNGs and
each run's animated GIF. Every output path is checked before any work."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from .common import add_common, check_out_dir, emit


def add_parsers(sub) -> None:
    p = sub.add_parser("report", help="a one-file HTML report of runs (+ slide-ready PNGs and GIFs)")
    add_common(p)
    p.add_argument(
        "--runs", default=None, help="comma-separated run ids (see `python -m dd_core runs`) or 'all' (the default)"
    )
    p.add_argument(
        "--sweep",
        type=int,
        default=None,
        metavar="SWEEP_ID",
        help="the report of a sweep's trial runs, with its spec and Table 1 (methods x IPC, mean ± std over seeds)",
    )
    p.add_argument("--out", default="report.html", help="the HTML file to write")
    p.add_argument(
        "--figures",
        default=None,
        metavar="DIR",
        help="also write slide-ready PNGs and GIFs into DIR (with --sweep, its Table 1 as Markdown and CSV too)",
    )


def check_out_file(path: Path, field: str = "out") -> Path:
    """Make sure ``path`` can be written (its folder exists or can be made, it is not a folder, it is writable)
    before any work; else ConfigError naming the file."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"cannot write the report {path}: it is a folder; give a file name", field=field)
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"cannot write the report {path}: {parent} is a file, not a folder", field=field)
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(f"cannot write the report {path}: {reason}", field=field) from None
    if not existed:
        os.unlink(path)  # leave nothing behind if the report then fails
    return path


def cmd_report(args) -> int:
    from ..report.build import render
    from ..report.data import collect, groups, parse_runs, select_runs
    from ..report.environment import environment
    from ..runs.store import RunStore

    if args.sweep is not None and args.runs is not None:
        raise ConfigError(
            f"--sweep {args.sweep} reports that sweep's trial runs: leave out --runs (or leave out --sweep to "
            "report the runs given)",
            field="sweep",
        )
    out = check_out_file(Path(args.out))
    figures = check_out_dir(Path(args.figures), field="figures") if args.figures else None
    run_ids = parse_runs(args.runs)
    store = RunStore()
    store.reap()
    part = None
    if args.sweep is not None:
        from ..report.sweep import section, spec_summary, sweep_part

        part = sweep_part(store, args.sweep)
        runs = part.runs
    else:
        runs = select_runs(store, run_ids)
    entries = collect(store, runs)
    group_list = groups(entries)
    if part is None:
        text = render(entries, group_list, environment())
    else:
        text = render(entries, group_list, environment(), top=section(part), title=f"sweep #{part.id}")
    out.write_text(text, encoding="utf-8")
    written: list[str] = []
    if figures is not None:
        from ..report.figures import write_figures

        written = [str(p) for p in write_figures(entries, group_list, figures)]
        if part is not None:
            from ..report.sweep import write_tables

            written += [str(p) for p in write_tables(part, figures)]
    human = "report of " + (f"sweep #{part.id}: " if part is not None else "")
    human += f"{len(entries)} run{'s' if len(entries) != 1 else ''} ({len(group_list)} group"
    human += f"{'s' if len(group_list) != 1 else ''}) written to {out} ({len(text.encode()) / 1e6:.1f} MB)"
    if figures is not None:
        human += f"\n{len(written)} figures in {figures}"
    record = {
        "out": str(out),
        "runs": [e.id for e in entries],
        "groups": [
            {"dataset": g.dataset, "protocol": g.protocol, "runs": [e.id for e in g.entries]} for g in group_list
        ],
        "figures": written,
        "bytes": len(text.encode()),
    }
    if part is not None:
        record["sweep"] = {**spec_summary(part), "table": part.table.to_dict()}
    emit(args, human, record)
    return 0
