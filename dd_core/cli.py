"""Argument parsing and dispatch for ``python -m dd_core``.

Conventions: progress goes to stderr; ``--json`` prints one JSON object as the last line of stdout; user errors
exit 2 with one readable line (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import TYPE_CHECKING

import torch

from .errors import ConfigError, DDError

if TYPE_CHECKING:
    from .config import EvalConfig
    from .data import RealData


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: CUDA when present)")


def _add_dataset(p: argparse.ArgumentParser, default: str | None = "mnist-5k") -> None:
    p.add_argument("--dataset", default=default, help="dataset name (see `python -m dd_core datasets`)")
    p.add_argument("--data-path", default=None, help="folder for `mhist` and `folder` datasets")
    p.add_argument("--image-size", type=int, default=None, help="resize to this side (mhist, folder)")
    p.add_argument("--channels", type=int, default=None, help="1 or 3 (folder)")


def _dataset_options(args) -> dict:
    return {
        k: v
        for k, v in (("path", args.data_path), ("image_size", args.image_size), ("channels", args.channels))
        if v is not None
    }


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dd_core", description="DistillLab engine: dataset distillation.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list datasets and whether they are usable here")
    _add_common(p)
    p.add_argument("--data-path", default=None, help="folder to check for `mhist` / `folder`")

    p = sub.add_parser("flops", help="forward FLOPs per image (fvcore), parameters, training compute")
    _add_common(p)
    _add_dataset(p)
    p.add_argument("--net", default=None, help="network name (default: the dataset's ConvNet)")
    p.add_argument("--ipc", type=int, default=10, help="synthetic images per class for the compute comparison")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs for the compute comparison (default: the device's evaluation protocol)",
    )

    p = sub.add_parser("baseline", help="train on the whole training set (upper bound)")
    _add_common(p)
    _add_dataset(p)
    p.add_argument("--net", default=None, help="network name (default: the dataset's ConvNet)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--dsa", action="store_true", help="augment training batches with DSA (off by default)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("evaluate", help="train fresh nets on a small set and test them on the real test set")
    _add_common(p)
    _add_dataset(p, default=None)
    p.add_argument("synthetic", nargs="?", default=None, help="a saved synthetic set (.pt)")
    p.add_argument("--random-real", action="store_true", help="evaluate IPC random real images per class")
    p.add_argument("--ipc", type=int, default=None)
    _add_eval(p)
    p.add_argument("--seed", type=int, default=0)
    from . import cli_distill

    cli_distill.add_parser(sub, _add_common, _add_dataset, _add_eval)

    p = sub.add_parser("bench", help="seconds per iteration vs the bare network work, evaluation speed, memory")
    _add_common(p)
    _add_dataset(p, default="fashion-mnist")
    p.add_argument("--methods", default="dm,am", help="comma-separated methods")
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--batch-real", type=int, default=None, help="real images per class (default: each method's)")
    p.add_argument("--iterations", type=int, default=10, help="timed iterations per method (after warm-up)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--eval-epochs", type=int, default=20, help="epochs of the timed evaluation")

    p = sub.add_parser("experts", help="train (or load cached) expert trajectories for PAD / trajectory matching")
    _add_common(p)
    _add_dataset(p)
    p.add_argument("--net", default=None, help="network (default: the dataset's ConvNet)")
    p.add_argument("--experts", type=int, default=5, help="number of expert trajectories")
    p.add_argument("--epochs", type=int, default=20, help="epochs per expert (official PAD: 100)")
    p.add_argument("--lr", type=float, default=0.01, help="expert SGD learning rate (lr_teacher)")
    p.add_argument("--no-scheduler", action="store_true", help="plain MTT experts on all data")
    p.add_argument("--init-ratio", type=float, default=0.75)
    p.add_argument("--add-end-epoch", type=int, default=-1, help="-1: 20%% of --epochs (official 20 of 100)")
    p.add_argument("--rm-epoch-first", type=int, default=-1, help="-1: 40%% of --epochs")
    p.add_argument("--rm-epoch-second", type=int, default=-1, help="-1: 60%% of --epochs")
    p.add_argument("--rm-easy-first", type=float, default=0.1)
    p.add_argument("--rm-easy-second", type=float, default=0.2)
    p.add_argument("--score", choices=["el2n", "grand"], default="el2n", help="difficulty score")
    p.add_argument("--score-models", type=int, default=2)
    p.add_argument("--score-epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for the trajectories (default: the cache in the data home)")

    p = sub.add_parser("runs", help="list the runs recorded in the run store (dashboard and CLI)")
    _add_common(p)
    p.add_argument("--limit", type=int, default=50)

    p = sub.add_parser("worker", help="background worker: execute queued runs (started by the dashboard)")
    _add_common(p)
    p.add_argument("run_id", nargs="?", type=int, default=None)
    return parser


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nets",
        "--eval-nets",
        dest="nets",
        default=None,
        help="comma-separated evaluation nets (default: the dataset's ConvNet)",
    )
    p.add_argument(
        "--protocol",
        choices=["paper", "quick"],
        default=None,
        help="paper = 1000 epochs x 5 models; quick = 300 x 2 (default: paper on GPU, quick on CPU)",
    )
    p.add_argument("--epochs", "--eval-epochs", dest="eval_epochs", type=int, default=None, help="override epochs")
    p.add_argument(
        "--models",
        "--eval-models",
        dest="eval_models",
        type=int,
        default=None,
        help="override the number of fresh models per net",
    )


def eval_config_from(args, device) -> "EvalConfig":
    from .config import EvalConfig

    return EvalConfig.from_protocol(args.protocol, device=device, epochs=args.eval_epochs, n_models=args.eval_models)


class Progress:
    """A one-line progress display on stderr (only when stderr is a terminal or forced)."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = 0.0

    def __call__(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.enabled and (force or now - self.last > 0.25):
            self.last = now
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def emit(args, human: str, record: dict) -> None:
    """Print the human-readable summary, then (with --json) the JSON record as the last stdout line."""
    print(human)
    if getattr(args, "json", False):
        print(json.dumps(record))


# ---------------------------------------------------------------------------------------------- commands
def cmd_datasets(args) -> int:
    from .data import DATASETS, dataset_status
    from .paths import data_home

    rows = []
    for name in DATASETS:
        st = dataset_status(name, path=args.data_path if name in ("mhist", "folder") else None)
        rows.append({"name": st.name, "status": st.status, "detail": st.detail, "fix": st.fix})
    lines = [f"data home: {data_home()}  (set DD_HOME to change)"]
    for r in rows:
        lines.append(f"{r['name']:<14} {r['status']:<14} {r['detail']}")
        if r["fix"]:
            lines.append(f"{'':<14} fix: {r['fix']}")
    emit(args, "\n".join(lines), {"data_home": str(data_home()), "datasets": rows})
    return 0


def _load(args, device) -> "RealData":
    from .data import load_dataset

    return load_dataset(args.dataset, **_dataset_options(args)).to(device)


def cmd_flops(args) -> int:
    from .config import PROTOCOLS, default_protocol
    from .data import dataset_info
    from .flops import count_flops, training_flops
    from .nets import default_net_for

    info = dataset_info(args.dataset)
    if info.get("num_classes") is None or info.get("train_size") is None:  # folder: known only once loaded
        meta_real = _load(args, torch.device("cpu"))
        info = {
            **info,
            "num_classes": meta_real.meta.num_classes,
            "train_size": len(meta_real.train_labels),
            "image_size": meta_real.meta.image_size,
            "channels": meta_real.meta.channels,
        }
    size = args.image_size or info["image_size"]
    channels = args.channels or info["channels"]
    net = args.net or default_net_for(size)
    if args.ipc < 1:
        raise ConfigError(f"--ipc must be >= 1, got {args.ipc}")
    epochs = args.epochs or PROTOCOLS[default_protocol(torch.device("cpu"))]["epochs"]
    if epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {epochs}")
    f = count_flops(net, channels, info["num_classes"], size)
    n_train = info["train_size"]
    n_syn = args.ipc * info["num_classes"]
    whole = training_flops(f["flops_per_image"], n_train, epochs)
    syn = training_flops(f["flops_per_image"], n_syn, epochs)
    record = {
        "net": net,
        "dataset": args.dataset,
        "channels": channels,
        "image_size": size,
        "flops_per_image": f["flops_per_image"],
        "params": f["params"],
        "convention": f["convention"],
        "training": {
            "epochs": epochs,
            "ipc": args.ipc,
            "whole_dataset_images": n_train,
            "synthetic_images": n_syn,
            "whole_dataset_flops": whole,
            "synthetic_flops": syn,
            "ratio": whole / syn,
        },
    }
    human = (
        f"{net} on {args.dataset} ({channels}x{size}x{size}): {f['flops_per_image'] / 1e6:,.1f} MFLOPs "
        f"forward per image, {f['params']:,} parameters\n  convention: {f['convention']}\n"
        f"  training compute for {epochs} epochs (forward+backward ~ 3x forward): whole dataset "
        f"({n_train:,} images) {whole:.3e} FLOPs vs IPC {args.ipc} ({n_syn} images) {syn:.3e} FLOPs "
        f"= {whole / syn:,.0f}x less"
    )
    emit(args, human, record)
    return 0


def record_run(cfg, device, on_event, out_dir=None) -> dict:
    """Run ``cfg`` in this process, recorded in the run store (so it shows up in the dashboard)."""
    from .runs.store import RunStore
    from .runs.worker import run_recorded

    _, status, record = run_recorded(RunStore(), cfg, device, on_event, out_dir)
    if status == "cancelled":
        raise ConfigError("the run was cancelled (from the dashboard)")
    return record


def cmd_baseline(args) -> int:
    from .config import BaselineConfig, RunConfig
    from .device import pick_device

    options = {
        "epochs": args.epochs,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "batch_size": args.batch_size,
        "dsa": args.dsa,
        "seed": args.seed,
    }
    if args.net:
        options["net"] = args.net
    BaselineConfig(dataset=args.dataset, **options)  # validate before loading anything
    device = pick_device(args.device)
    cfg = RunConfig(
        kind="baseline",
        dataset=args.dataset,
        dataset_options=_dataset_options(args),
        method=None,
        baseline=options,
        device=args.device,
    )
    bar = Progress()

    def on_event(e: dict) -> None:
        if e["type"] == "epoch":
            bar(f"epoch {e['epoch']}/{e['epochs']}  loss {e['loss']:.4f}  test acc {e['test_acc']:.4f}", force=True)

    record = record_run(cfg, device, on_event)
    bar.done()
    emit(
        args,
        f"{record['net']} on {record['dataset']}, {record['epochs']} epochs: test accuracy "
        f"{record['test_acc']:.4f} in {record['seconds']:.1f} s ({device})",
        record,
    )
    return 0


def format_evals(evals: list[dict]) -> str:
    return "\n".join(
        f"  {'@ ' + str(e['iteration']) if 'iteration' in e else '':<8}{e['net']:<12} "
        f"{100 * e['acc_mean']:.2f} ± {100 * e['acc_std']:.2f} %  "
        f"({e['n_models']} models x {e['epochs']} epochs, {e['protocol']})"
        for e in evals
    )


def eval_progress(bar: Progress):
    def on_progress(p: dict) -> None:
        bar(f"eval {p['net']} model {p['model']}/{p['n_models']} epoch {p['epoch']}/{p['epochs']} loss {p['loss']:.4f}")

    return on_progress


def cmd_evaluate(args) -> int:
    from .config import RunConfig
    from .device import pick_device
    from .synthetic import SyntheticSet

    device = pick_device(args.device)
    if args.random_real == (args.synthetic is not None):
        raise ConfigError("give either a synthetic set file (SYN.pt) or --random-real --dataset D --ipc K")
    if args.random_real:
        if not args.dataset or args.ipc is None:
            raise ConfigError("--random-real needs --dataset and --ipc")
        method_options = {"ipc": args.ipc, "seed": args.seed}
        if args.ipc < 1:
            raise ConfigError(f"--ipc must be >= 1, got {args.ipc}")
    else:
        syn = SyntheticSet.load(args.synthetic)
        if args.dataset and args.dataset != syn.meta["dataset"]:
            raise ConfigError(f"{args.synthetic} was distilled from {syn.meta['dataset']!r}, not {args.dataset!r}")
        args.dataset, method_options = syn.meta["dataset"], {"ipc": syn.ipc}
    ecfg = eval_config_from(args, device)
    cfg = RunConfig(
        kind="evaluate",
        dataset=args.dataset,
        dataset_options=_dataset_options(args),
        method="random" if args.random_real else None,
        method_options=method_options,
        synthetic_path=args.synthetic,
        eval_nets=_csv(args.nets),
        eval=ecfg.to_dict(),
        device=args.device,
    )
    bar = Progress()
    progress = eval_progress(bar)
    record = record_run(cfg, device, lambda e: progress(e) if e["type"] == "progress" else None)
    bar.done()
    emit(
        args,
        f"{record['source']} on {record['dataset']}, IPC {record['ipc']}:\n{format_evals(record['evals'])}"
        f"\n  ({record['seconds']:.1f} s)",
        record,
    )
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench
    from .device import pick_device

    device = pick_device(args.device)
    real = _load(args, device)
    for name, value in (("--iterations", args.iterations), ("--eval-epochs", args.eval_epochs)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    res = run_bench(
        real,
        _csv(args.methods) or [],
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


def cmd_runs(args) -> int:
    from .runs.store import RunStore

    store = RunStore()
    store.reap()
    runs = []
    for r in store.list_runs(limit=args.limit):
        end = r["finished_at"] or r["heartbeat"]
        seconds = (end - r["started_at"]) if r["started_at"] and end else None
        evals = [
            {k: e.get(k) for k in ("iteration", "net", "acc_mean", "acc_std", "n_models", "epochs", "protocol")}
            for e in store.evals(r["id"])
        ]
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
                "error": r["error"],
                "evals": evals,
            }
        )
    lines = [f"{len(runs)} runs in {store.path}"]
    for r in runs:
        best = r["evals"][-1] if r["evals"] else None
        acc = f"{100 * best['acc_mean']:.2f} % ({best['net']})" if best else ""
        lines.append(
            f"  #{r['id']:<4} {r['kind']:<9} {r['method'] or '':<8} {r['dataset'] or '':<14} "
            f"ipc {r['ipc'] or '-':<4} {r['status']:<11} {acc}"
        )
    emit(args, "\n".join(lines), {"runs": runs})
    return 0


def cmd_experts(args) -> int:
    from .config import RunConfig
    from .device import pick_device

    opts = {
        "experts": args.experts,
        "trajectory_epochs": args.epochs,
        "expert_lr": args.lr,
        "scheduler": not args.no_scheduler,
        "init_ratio": args.init_ratio,
        "add_end_epoch": args.add_end_epoch,
        "rm_epoch_first": args.rm_epoch_first,
        "rm_epoch_second": args.rm_epoch_second,
        "rm_easy_ratio_first": args.rm_easy_first,
        "rm_easy_ratio_second": args.rm_easy_second,
        "score": args.score,
        "score_models": args.score_models,
        "score_epochs": args.score_epochs,
        "seed": args.seed,
        "experts_path": args.out,
    }
    if args.net:
        opts["net"] = args.net
    device = pick_device(args.device)
    cfg = RunConfig(
        kind="experts",
        dataset=args.dataset,
        dataset_options=_dataset_options(args),
        method="pad",
        method_options=opts,
        device=args.device,
    ).validate()
    from .cli_distill import StepBar

    bar = StepBar(0)
    record = record_run(cfg, device, bar)
    bar.close()
    spe = record["seconds_per_expert_epoch"]
    emit(
        args,
        f"{record['count']} experts ({record['net']} on {record['dataset']}, {record['epochs']} epochs, "
        f"scheduler {'on' if record['scheduler'] else 'off'}) in {record['folder']}: {record['built']} built, "
        f"{record['cached']} cached, {record['seconds']:.1f} s" + (f" ({spe:.2f} s per expert epoch)" if spe else ""),
        record,
    )
    return 0


def cmd_worker(args) -> int:
    from .runs.worker import lower_priority, work

    lower_priority()
    work(args.run_id)
    return 0


COMMANDS = {
    "experts": cmd_experts,
    "runs": cmd_runs,
    "worker": cmd_worker,
    "bench": cmd_bench,
    "datasets": cmd_datasets,
    "flops": cmd_flops,
    "baseline": cmd_baseline,
    "evaluate": cmd_evaluate,
}


def main(argv: list[str] | None = None) -> int:
    from .device import tune_cpu_allocator

    parser = build_parser()
    args = parser.parse_args(argv)
    tune_cpu_allocator()
    from . import cli_distill

    handler = {**COMMANDS, "distill": cli_distill.cmd_distill}[args.command]
    try:
        return handler(args) or 0
    except DDError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # an unexpected failure: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
