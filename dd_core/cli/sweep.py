"""``python -m dd_core sweep``: methods × a grid × seeds, each trial an ordinary run, fanned out on Ray.

The fixed part of every trial takes ``distill``'s options (``add_run_options``, ``resolve``, ``distill_config``: the
same ``RunConfig`` as ``distill``); ``--grid KEY=V1,V2`` and ``--seeds`` vary it. Every trial is validated before
Ray starts. Without ``--address`` a local Ray runs inside the command (and is shut down when it ends).
"""

from __future__ import annotations

import argparse
import copy
import os

from ..errors import ConfigError
from .common import EXIT_CANCELLED, StopSignals, add_common, add_dataset, cli_message, csv_list, emit
from .distill import add_run_options, distill_config, resolve

# a run option of the grid → the attribute of distill's parsed arguments it sets, and its type
RUN_ATTRS = {
    "iterations": ("iterations", int),
    "eval_epochs": ("eval_epochs", int),
    "eval_models": ("eval_models", int),
    "protocol": ("protocol", str),
}
NOT_FIXED = ("json", "debug", "dry_run", "resume", "command", "address", "ray_dashboard")


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="methods x a grid x seeds, each trial an ordinary run, fanned out on Ray (local unless --address)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common(p)
    add_dataset(p, default=None)
    p.add_argument("--method", default=None, help="comma-separated methods: dm,am,pad,random,herding")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a grid axis: any option of the methods' configs (ipc, lr_img, batch_real, ...) or iterations, "
        "eval_epochs, eval_models, protocol; repeat for more axes (every combination is a trial)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated seeds: every grid point once per seed")
    add_run_options(p)
    p.add_argument("--address", default=None, help="an existing Ray cluster: auto | HOST:PORT | ray://HOST:PORT")
    p.add_argument("--ray-dashboard", action="store_true", help="start the local Ray with its dashboard")
    p.add_argument(
        "--cpus-per-trial",
        type=float,
        default=None,
        help="Ray CPUs per trial, also its torch threads (default 1: as many trials at a time as there are cores, "
        "the faster on a 2-core CPU: benchmarks/sweep_overhead.py)",
    )
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="Ray GPUs per trial (> 0: the trial uses CUDA)")
    p.add_argument("--dry-run", action="store_true", help="list the trials, run nothing (Ray is not started)")
    p.add_argument("--resume", type=int, default=None, metavar="SWEEP_ID", help="run a sweep's unfinished trials")


def trial_device(args) -> str:
    """Where the trials run: CUDA when they get a GPU, else the CPU (``--device`` must agree)."""
    gpus = args.gpus_per_trial
    if gpus < 0 or (args.cpus_per_trial is not None and args.cpus_per_trial <= 0):
        raise ConfigError("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0")
    if args.device and args.device.startswith("cuda") and gpus <= 0:
        raise ConfigError(f"--device {args.device} needs --gpus-per-trial > 0 (Ray gives a trial no GPU otherwise)")
    if args.device:
        return args.device
    return "cuda" if gpus > 0 else "cpu"


def trial_args(args, method: str, point: dict, seed: int | None, method_keys: list[str]):
    """``distill``'s arguments of one trial: the fixed ones with the grid point's values and the seed."""
    from ..config import coerce_value

    a = copy.copy(args)
    a.method = method
    a.option = list(args.option) + [f"{k}={v}" for k, v in point.items() if k in method_keys and k not in RUN_ATTRS]
    for key, (attr, kind) in RUN_ATTRS.items():
        if key in point:
            setattr(a, attr, coerce_value(key, point[key], kind))
    if seed is not None:
        a.seed = str(seed)
    return a


def build_trials(args) -> list:
    """Every trial of the sweep, validated as ``distill`` validates a run; a bad one is refused naming its key."""
    import torch

    from ..methods import METHODS
    from ..sweeps.grid import RUN_KEYS, check_keys, parse_grid, parse_seeds, points
    from ..sweeps.trials import Trial

    methods = csv_list(args.method) or []
    if not methods:
        raise ConfigError("--method: give one or more methods, e.g. --method dm,am")
    for m in methods:
        if m not in METHODS:
            raise ConfigError(f"--method: unknown method {m!r}; choose from {', '.join(METHODS)}")
    grid = parse_grid(args.grid)
    given = parse_seeds(args.seeds)
    seeds: list[int | None] = list(given) if given else [None]
    fields = {m: METHODS[m].config_cls.fields() for m in methods}
    applies = check_keys(grid, {m: [f for f in fields[m] if f != "seed"] for m in methods})
    anyone = {f for fs in fields.values() for f in fs}
    device_name = trial_device(args)
    device = torch.device(device_name.split(":")[0])
    trials: list[Trial] = []
    for m in methods:
        sub = {k: grid[k] for k in applies[m]}
        for point in points(sub):
            for seed in seeds:
                trial = Trial(len(trials), m, point, seed, {})
                try:
                    a = trial_args(args, m, point, seed, applies[m])
                    run, opts = resolve(a)
                    # a fixed option another method of the sweep has (e.g. --batch-real with random) is not this one's
                    opts = {k: v for k, v in opts.items() if k in fields[m] or k not in anyone}
                    a.dataset = run["dataset"]
                    cfg = distill_config(a, run, opts, device, device_name)
                except ConfigError as err:
                    message = f"trial {trial.label()}: {grid_message(err, point, RUN_KEYS)}"
                    raise ConfigError(message, field=getattr(err, "field", None)) from None
                trial.config = cfg.to_dict()
                trial.params = typed_params(cfg, point)
                if seed is None:
                    trial.seed = cfg.method_options.get("seed", METHODS[m].config_cls.seed)
                trials.append(trial)
    return trials


def typed_params(cfg, point: dict) -> dict:
    """The grid point's values as the trial's config holds them (``{"ipc": 1, "lr_img": 0.1}``)."""
    run = {"iterations": cfg.iterations, "protocol": (cfg.eval or {}).get("protocol")}
    run.update(eval_epochs=(cfg.eval or {}).get("epochs"), eval_models=(cfg.eval or {}).get("n_models"))
    return {k: run[k] if k in run else cfg.method_options.get(k, v) for k, v in point.items()}


def grid_message(err: ConfigError, point: dict, run_keys: tuple) -> str:
    """The error in the sweep's words: the grid value at fault (``--grid ipc=0: ...``), else distill's flag."""
    field = getattr(err, "field", None)
    if field in point:
        return f"--grid {field}={point[field]}: {err}"
    alias = {"epochs": "eval_epochs", "n_models": "eval_models"}.get(field or "")
    if alias in point and alias in run_keys:
        return f"--grid {alias}={point[alias]}: {err}"
    return cli_message(err, "distill")


def not_applied(args, trials: list) -> list[str]:
    """The grid keys that some methods do not have (their trials do not vary them)."""
    from ..sweeps.grid import parse_grid

    keys = list(parse_grid(args.grid))
    methods = csv_list(args.method) or []
    lines = []
    for k in keys:
        without = [m for m in methods if not any(t.method == m and k in t.params for t in trials)]
        if without:
            lines.append(f"--grid {k} does not apply to {', '.join(without)} (not in their config): not varied there")
    return lines


def cmd_sweep(args) -> int:
    from ..runs.store import RunStore

    if args.resume is not None:
        store = RunStore()
        sweep_id, trials, todo, fixed = resume_trials(args, store)
        if args.dry_run:
            return dry_run(args, todo)
        return run_sweep(args, store, sweep_id, trials, todo, fixed)
    trials = build_trials(args)
    if args.dry_run:
        return dry_run(args, trials)
    fixed = {k: v for k, v in vars(args).items() if k not in NOT_FIXED}
    return run_sweep(args, RunStore(), None, trials, trials, fixed)


def dry_run(args, trials: list) -> int:
    lines = [f"sweep: {len(trials)} trials; nothing runs (--dry-run)", *not_applied(args, trials)]
    for t in trials:
        c = t.config
        lines.append(
            f"  {t.index:>3}  {t.label()}: {c['dataset']}, {c['iterations']} iterations, evaluated at "
            f"{c['eval_at'] or 'none'} ({c['eval']['n_models']} × {c['eval']['epochs']} epochs), device {c['device']}"
        )
    record = {"sweep_id": None, "engine": "ray", "dry_run": True, "trials": [t.to_dict() for t in trials]}
    emit(args, "\n".join(lines), record)
    return 0


def resume_trials(args, store) -> tuple:
    """(sweep id, every trial, the trials to run, the stored fixed part) of ``--resume``: the trials not ``done``."""
    from ..runs.sweeps import busy_runs, get_sweep, trial_runs
    from ..sweeps.trials import trials_of

    if args.method or args.grid or args.seeds:
        raise ConfigError("--resume reruns the stored sweep's trials: leave out --method, --grid and --seeds")
    sweep = get_sweep(store, args.resume)
    if sweep is None:
        raise ConfigError(f"--resume {args.resume}: no such sweep in the run store ({store.path})")
    store.reap()
    busy = busy_runs(store, args.resume)
    if busy:
        raise ConfigError(f"--resume {args.resume}: the sweep is still queued or running (runs {busy}); stop it first")
    trials = trials_of(sweep["spec"])
    runs = trial_runs(store, args.resume)
    todo = [t for t in trials if (runs.get(t.index) or {}).get("status") != "done"]
    return args.resume, trials, todo, sweep["spec"].get("fixed", {})


def run_sweep(args, store, sweep_id: int | None, trials: list, todo: list, fixed: dict) -> int:
    """Connect to Ray (or start a local one) and check a node can hold a trial, queue the sweep's driver job on this
    machine's device, wait until the device is free, run the job here and report every trial of the sweep."""
    from ..spec import check_resources
    from ..sweeps.job import queue_sweep
    from ..sweeps.ray_env import check_feasible, ray_session, require_ray
    from ..sweeps.resources import trial_resources

    require_ray()
    trial_device(args)
    check_resources(args.cpus_per_trial, args.gpus_per_trial)
    res = trial_resources(args.cpus_per_trial, args.gpus_per_trial)
    job = {"address": args.address, "cpus_per_trial": args.cpus_per_trial, "gpus_per_trial": args.gpus_per_trial}
    job["ray_dashboard"] = bool(args.ray_dashboard)
    with ray_session(args.address, dashboard=args.ray_dashboard):  # the driver job below uses this Ray
        check_feasible(require_ray(), res.cpus, res.gpus)  # before anything is recorded
        sweep_id, run_id = queue_sweep(store, trials, fixed, job, source="cli", sweep_id=sweep_id, pid=os.getpid())
        status, record = drive(store, sweep_id, run_id)
    if record is None:
        emit(args, f"sweep #{sweep_id} cancelled before it started", {"sweep_id": sweep_id, "status": "cancelled"})
        return EXIT_CANCELLED
    emit(args, human_summary(record, len(todo)), record)
    return EXIT_CANCELLED if status == "cancelled" else 0


def drive(store, sweep_id: int, run_id: int) -> tuple[str, dict | None]:
    """Wait for the device, then run the driver job ``run_id`` in this process, recorded like a worker's run;
    Ctrl-C stops it (a second one aborts). ``("cancelled", None)`` when stopped before the device was free."""
    from ..runs.recorder import RunRecorder
    from ..runs.sweeps import set_sweep_status
    from ..sweeps.job import run_sweep_job
    from .progress import SweepProgressPrinter

    printer = SweepProgressPrinter(sweep_id)
    with StopSignals() as signals:
        try:
            run = wait_for_device(store, run_id, signals.event.is_set, printer.waiting)
            if run is None:
                store.request_cancel(run_id)
                set_sweep_status(store, sweep_id, "cancelled")
                return "cancelled", None
            recorder = RunRecorder(store, run_id).start_heartbeat()
            stop = lambda: signals.event.is_set() or recorder.should_stop()  # noqa: E731
            try:
                status, record = run_sweep_job(store, run["config_obj"], recorder, stop, on_update=printer)
            except KeyboardInterrupt:
                recorder.close()
                store.set_status(run_id, "interrupted", error="aborted (a second Ctrl-C) before it could stop cleanly")
                raise
            except BaseException as err:
                recorder.close()
                store.set_status(run_id, "failed", error=str(err) or type(err).__name__)
                raise
            recorder.close()
            store.set_status(run_id, status, summary=record)
            return status, record
        finally:
            printer.close()
            release_device(store, run_id)


def wait_for_device(store, run_id: int, should_stop, on_wait) -> dict | None:
    """Claim the sweep's queued driver job once its device runs nothing else (a dashboard run, another sweep);
    ``on_wait(running runs)`` while it waits. None when ``should_stop()`` (Ctrl-C) comes first or the job was
    cancelled meanwhile (the dashboard's Stop)."""
    import time

    from ..spec import RunConfig

    device = store.get_run(run_id)["device"]
    while True:
        run = store.claim_next_queued(device, run_id=run_id)
        if run is not None:
            return {**run, "config_obj": RunConfig.from_dict(run["config"]).validate()}
        if should_stop() or (store.run_state(run_id) or {}).get("status") != "queued":
            return None
        on_wait([r for r in store.list_runs(status="running") if r["device"] == device])
        time.sleep(0.5)


def release_device(store, run_id: int) -> None:
    """The sweep is over: start a worker for dashboard runs queued meanwhile on the device."""
    from ..runs.worker import ensure_worker

    run = store.get_run(run_id)
    if run is not None:
        try:
            ensure_worker(store, run["device"])
        except Exception:  # noqa: BLE001 - the page starts one on its next visit
            pass


def human_summary(record: dict, ran: int) -> str:
    from ..labels import pct

    res = record["trials"]
    counts = {s: sum(1 for r in res if r["status"] == s) for s in ("done", "failed", "cancelled", "interrupted")}
    lines = [
        f"sweep #{record['sweep_id']} {record['status']} on Ray ({record['ray_address']}): {ran} trials run now, "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + f" of {len(res)}; {record['seconds']:.0f} s"
    ]
    for r in res:
        label = " ".join([r["method"], *(f"{k}={v}" for k, v in r["params"].items()), f"seed {r['seed']}"])
        acc = f"{pct(r['acc_mean'])}" if r["acc_mean"] is not None else ""
        rand = f" (random real {pct(r['random_acc_mean'])})" if r["random_acc_mean"] is not None else ""
        err = f": {r['error']}" if r["status"] == "failed" and r["error"] else ""
        lines.append(f"  run #{r['run_id']}  {label}: {r['status']} {acc}{rand}{err}")
    from ..sweeps.table import best_per_method, best_text

    for cell in best_per_method(res):  # the driver's record: trials with their IPC attached
        lines.append(f"best {best_text(cell)}")
    if record["status"] == "cancelled":
        lines.append(f"cancelled: `python -m dd_core sweep --resume {record['sweep_id']}` runs the unfinished trials")
    return "\n".join(lines)


def plan(argv: list[str]) -> tuple[list, dict]:
    """``(trials, fixed part)`` of ``python -m dd_core sweep ARGV``, validated as the command validates them (no Ray
    starts, nothing is recorded): what the Sweep page submits."""
    parser = argparse.ArgumentParser(prog="python -m dd_core", exit_on_error=False)
    add_parsers(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(["sweep", *argv])
    except (argparse.ArgumentError, SystemExit) as err:
        raise ConfigError(f"the sweep's options are not valid: {err}") from None
    trials = build_trials(args)
    check_resources_of(args)
    return trials, {k: v for k, v in vars(args).items() if k not in NOT_FIXED}


def check_resources_of(args) -> None:
    from ..spec import check_resources

    trial_device(args)
    check_resources(args.cpus_per_trial, args.gpus_per_trial)
