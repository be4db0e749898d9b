"""``runs`` (the run store's runs), ``worker`` (the dashboard's background worker) and ``bench`` (speed)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .common import (
    add_common,
    add_dataset,
    csv_list,
    emit,
    load_real,
)


def add_parsers(sub) -> None:
    p = sub.add_parser("bench", help="seconds per iteration vs the bare network work, evaluation speed, memory")
    add_common(p)
    add_dataset(p, default="fashion-mnist")
    p.add_argument("--methods", default="dm,am", help="comma-separated methods")
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--batch-real", type=int, default=None, help="real images per class (default: each method's)")
    p.add_argument("--iterations", type=int, default=10, help="timed iterations per method (after warm-up)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--eval-epochs", type=int, default=20, help="epochs of the timed evaluation")

    p = sub.add_parser("runs", help="list the runs recorded in the run store (dashboard and CLI)")
    add_common(p)
    p.add_argument("--limit", type=int, default=None, help="the newest N runs (default 50; every run with --sweep)")
    p.add_argument("--sweep", type=int, default=None, metavar="SWEEP_ID", help="only the runs of that sweep")
    p.add_argument(
        "--repair",
        action="store_true",
        help="back up a damaged run store (runs.sqlite3.corrupt-<time>) and rebuild it from the run folders",
    )

    p = sub.add_parser("worker", help="background worker: execute queued runs (started by the dashboard)")
    add_common(p)
    p.add_argument("run_id", nargs="?", type=int, default=None)


def cmd_bench(args) -> int:
    from ..bench import run_bench
    from ..device import pick_device

    device = pick_device(args.device)
    real = load_real(args, device)
    for name, value in (("--iterations", args.iterations), ("--eval-epochs", args.eval_epochs)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    res = run_bench(
        real,
        csv_list(args.methods) or [],
        ipc=args.ipc,
        batch_real=args.batch_real,
        iterations=args.iterations,
        warmup=args.warmup,
        eval_epochs=args.eval_epochs,
    )
    lines = [
        f"bench on {res['device']} ({res['threads']} threads), {res['dataset']}, IPC {res['ipc']}, chunk {res['chunk']}"
    ]
    for r in res["results"]:
        extra = f"  bare {r['bare_seconds']:.3f} s  overhead {r['overhead']:.2f}" if "bare_seconds" in r else ""
        if "seconds_per_expert_epoch" in r:
            extra = (
                f"  ({r['syn_steps']} steps x batch {r['batch_syn']}; experts {r['seconds_per_expert_epoch']:.2f} "
                f"s/epoch, difficulty scores {r['difficulty_seconds']:.1f} s)"
            )
        batch = f" batch_real {r['batch_real']}" if "batch_real" in r else ""
        lines.append(
            f"  {r['method']:<8}{batch}: {r['seconds_per_iteration']:.3f} s/iteration"
            f"{extra}  peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    p = res["eval_projected_seconds"]
    lines.append(
        f"  eval: {res['eval_seconds']:.1f} s for 1 model x {res['eval_epochs']} epochs "
        f"({res['eval_train_seconds_per_epoch']:.3f} s/epoch + {res['eval_test_seconds']:.1f} s test) "
        f"(projected {p['protocol']} protocol, {p['n_models']} x {p['epochs']} epochs: {p['seconds']:.0f} s)"
    )
    emit(args, "\n".join(lines), res)
    return 0


EVAL_KEYS = (
    "iteration",
    "net",
    "acc_mean",
    "acc_std",
    "n_models",
    "epochs",
    "protocol",
    "random_acc_mean",
    "random_acc_std",
    "gain_over_random",
    "gap_closed",
    "whole_acc",
    "whole_epochs",
    "hard_label_acc_mean",
    "reference_error",
)


def cmd_runs(args) -> int:
    from ..runs.references import run_evals_with_references, whole_baselines
    from ..runs.store import RunStore

    if args.repair:
        return cmd_repair(args)
    store = RunStore()
    store.reap()
    if args.sweep is not None:
        from ..runs.sweeps import get_sweep

        if get_sweep(store, args.sweep) is None:
            raise ConfigError(f"--sweep {args.sweep}: no sweep #{args.sweep} in the run store ({store.path})")
    limit = args.limit if args.limit is not None else (None if args.sweep is not None else 50)
    runs = []
    baselines: dict[str, list[dict]] = {}
    for r in store.list_runs(sweep_id=args.sweep, limit=limit):
        end = r["finished_at"] or r["heartbeat"]
        seconds = (end - r["started_at"]) if r["started_at"] and end else None
        if r["dataset"] and r["dataset"] not in baselines:  # read once per dataset, not once per run
            baselines[r["dataset"]] = whole_baselines(store, r["dataset"])
        evals = run_evals_with_references(store, r, baselines=baselines.get(r["dataset"]))
        evals = [{k: e.get(k) for k in EVAL_KEYS} for e in evals]
        runs.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "method": r["method"],
                "dataset": r["dataset"],
                "ipc": r["ipc"],
                "status": r["status"],
                "created_at": r["created_at"],
                "seconds": seconds,
                "source": r["source"],
                "sweep_id": r.get("sweep_id"),
                "trial": r.get("trial"),
                "error": r["error"],
                "evals": evals,
            }
        )
    lines = [f"{len(runs)} runs" + (f" of sweep #{args.sweep}" if args.sweep is not None else "") + f" in {store.path}"]
    for r in runs:
        best = r["evals"][-1] if r["evals"] else None
        acc = f"{100 * best['acc_mean']:.2f} % ({best['net']})" if best else ""
        lines.append(
            f"  #{r['id']:<4} {r['kind']:<9} {r['method'] or '':<8} {r['dataset'] or '':<14} "
            f"ipc {r['ipc'] or '-':<4} {r['status']:<11} {acc}"
            + (f"  (sweep #{r['sweep_id']})" if r["sweep_id"] is not None and args.sweep is None else "")
        )
    emit(args, "\n".join(lines), {"runs": runs})
    return 0


def cmd_repair(args) -> int:
    from ..runs.store import RunStore, repair_store
    from ..runs.sweeps import rebuild_sweeps

    res = repair_store()
    if res["status"] == "rebuilt":
        with RunStore(res["path"]) as store:
            res["sweeps"] = rebuild_sweeps(store)  # from sweeps/<id>.json beside the store
    if res["status"] == "healthy":
        human = f"the run store {res['path']} is healthy; nothing to repair"
    else:
        lines = [
            f"recovered {res['recovered']} runs from {res['runs_folder']} into a new run store {res['path']}"
            + (
                f"; the damaged file is kept as {res['backup']} ({res['salvaged']['metrics']} step-metric rows "
                "could still be read from it)"
                if res["backup"]
                else ""
            )
        ]
        if res["sweeps"]:
            lines.append(f"  and {res['sweeps']} sweeps from {Path(res['path']).parent / 'sweeps'}")
        lines += [f"  skipped {s['folder']}: {s['reason']}" for s in res["skipped"]]
        human = "\n".join(lines)
    emit(args, human, res)
    return 0


def cmd_worker(args) -> int:
    import signal
    import sys

    from ..runs.worker import lower_priority, stop_on_signals, work
    from ..sweeps.job import run_sweep_job

    lower_priority()
    with stop_on_signals() as stop:
        work(args.run_id, stop_event=stop, executors={"sweep": run_sweep_job})
    # SIGTERM / SIGINT: the run was stopped like a cancel; exit 128 + signal number
    if stop.is_set() and stop.signum is not None:
        name = signal.Signals(stop.signum).name
        print(
            f"worker stopped by {name}: its run (if any) was cancelled, keeping its last complete set", file=sys.stderr
        )
        return 128 + int(stop.signum)
    return 0
