"""``python -m dd_core experiment KEY``: run one of the Home page's one-click experiments (``dd_core.experiments``)
in this process, each of its runs recorded in the run store, with the same summary lines as ``distill``."""

from __future__ import annotations

import argparse

from .common import EXIT_CANCELLED, add_common, emit, format_evals, record_run


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "experiment",
        help="run a one-click experiment of the Home page (am-mnist, dm-noise, pad-init, whole-mnist, ...)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common(p)
    p.add_argument("key", nargs="?", default=None, help="the experiment; leave out (or --list) to list them")
    p.add_argument("--list", action="store_true", help="list the experiments with their budgets, run nothing")
    p.add_argument("--budget", default=None, help="gpu | cpu (default: gpu when the device is CUDA, else cpu)")
    p.add_argument("--mhist", default=None, help="MHIST folder for the MHIST experiments (default: DD_MHIST_DIR)")
    p.add_argument("--dry-run", action="store_true", help="print the runs it would record, run nothing")


def _list(args) -> int:
    from ..experiments import EXPERIMENTS

    rows = [{"key": e.key, "title": e.title, "gpu": e.gpu, "cpu": e.cpu} for e in EXPERIMENTS.values()]
    human = "\n".join(f"{r['key']:<14} {r['title']}\n{'':<14} CPU: {r['cpu']}\n{'':<14} GPU: {r['gpu']}" for r in rows)
    emit(args, human, {"experiments": rows})
    return 0


def cmd_experiment(args) -> int:
    from ..device import pick_device
    from ..errors import ConfigError
    from ..experiments import default_budget, plan
    from ..methods import METHODS

    if args.list or not args.key:
        return _list(args)
    p = plan(args.key, budget=args.budget or default_budget(args.device), mhist_path=args.mhist)
    if p.disabled:
        raise ConfigError(f"experiment {args.key!r} cannot run here: {p.disabled}" + (f". {p.fix}" if p.fix else ""))
    print(f"{p.title} ({p.budget.upper()} budget, {len(p.runs)} run{'s' if len(p.runs) != 1 else ''})")
    for note in p.notes:
        print(f"  {note}")
    if args.dry_run:
        emit(
            args,
            "dry run: nothing ran",
            {"experiment": p.key, "budget": p.budget, "runs": [c.to_dict() for c in p.runs]},
        )
        return 0
    device = pick_device(args.device)
    results, status = [], 0
    for cfg in p.runs:
        cfg.device = args.device
        print(f"— {cfg.label}")
        rec = record_run(cfg, device)
        r = rec.record
        row = {"run_id": rec.run_id, "label": cfg.label, "status": rec.status, "seconds": r.get("seconds_distill")}
        if cfg.kind == "baseline":
            row.update(test_acc=r.get("test_acc"), epochs=r.get("epochs"), seconds=r.get("seconds"))
            if r.get("test_acc") is not None:
                print(f"  whole {cfg.dataset} {r.get('net')}, {r['epochs']} epochs: {100 * r['test_acc']:.1f} %")
        else:
            row.update(evals=r.get("evals", []), synthetic_path=r.get("synthetic_path"))
            method = METHODS[cfg.method].label if cfg.method in METHODS else cfg.method
            if r.get("evals"):
                print(format_evals(r["evals"], f"{method}  IPC {cfg.method_options.get('ipc', 10)}  "))
        results.append(row)
        if rec.cancelled:
            status = EXIT_CANCELLED
            print(f"run #{rec.run_id} stopped by {rec.cancelled_by}; the experiment's later runs did not start")
            break
    emit(
        args,
        f"recorded runs: {', '.join('#' + str(r['run_id']) for r in results)}",
        {"experiment": p.key, "budget": p.budget, "notes": p.notes, "runs": results},
    )
    return status
