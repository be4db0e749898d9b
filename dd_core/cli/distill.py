"""``python -m dd_core distill``: run a method through ``run_distillation`` with a progress bar, save the set."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .common import (
    EXIT_CANCELLED,
    add_common,
    add_dataset,
    add_eval,
    add_no_reference,
    check_out_dir,
    csv_list,
    dataset_options,
    emit,
    eval_config_from,
    format_evals,
    record_run,
    report_cancelled,
)

if TYPE_CHECKING:
    from ..spec import RunConfig


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "distill",
        help="distill a synthetic set (dm, am, random, herding)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common(p)
    add_dataset(p, default=None)
    p.add_argument("--method", required=True, help="dm | am | pad | random | herding")
    add_run_options(p)
    p.add_argument("--out", default=None, help="output folder (default: <data home>/out/<method>-<dataset>-...)")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one distillation besides ``--method`` and ``--out`` (``distill``, and ``sweep``'s fixed part)."""
    p.add_argument("--preset", default=None, help="fills every option left unset (cpu-demo, cpu-ipc10, paper)")
    # method options are passed as typed text: the engine converts them by the config's declared types
    p.add_argument("--ipc", default=None, help="synthetic images per class (default 10)")
    p.add_argument("--iterations", type=int, default=None, help="outer iterations (default 1000)")
    p.add_argument(
        "--net",
        default=None,
        help="network the method distills with (default: convnet-3 up to 32 px, convnet-7 at 128 px)",
    )
    p.add_argument("--init", default=None, help="real | noise")
    p.add_argument("--batch-real", default=None, help="real images per class per iteration")
    p.add_argument("--lr-img", default=None, help="learning rate of the synthetic images")
    p.add_argument(
        "--eval-at",
        default=None,
        help="iterations to evaluate at: '0,500,1000', 'final', 'every:N' or 'none' (default: final)",
    )
    add_eval(p)
    add_no_reference(p)
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other hyper-parameter of the method's config, e.g. --option power=4 (booleans: true/false/1/0)",
    )
    p.add_argument("--seed", default=None, help="random seed, 0 to 4294967295 (default 0)")


def resolve(args) -> tuple[dict, dict]:
    """Merge preset < explicit flags; return (run options, method options). Method options given as text are
    converted by the config's declared types (``coerce_options``, which ``method_config`` applies for the dashboard
    and presets too); unknown ones are left for ``method_config`` to refuse."""
    from ..config import coerce_options
    from ..methods import METHODS
    from ..presets import preset_options

    if args.method not in METHODS:
        raise ConfigError(f"unknown method {args.method!r}; choose one of: {', '.join(METHODS)}", field="method")
    merged = preset_options(args.preset, args.method)
    explicit = {
        "dataset": args.dataset,
        "ipc": args.ipc,
        "iterations": args.iterations,
        "net": args.net,
        "init": args.init,
        "batch_real": args.batch_real,
        "lr_img": args.lr_img,
        "eval_at": args.eval_at,
        "eval_nets": args.nets,
        "eval_models": args.eval_models,
        "eval_epochs": args.eval_epochs,
        "protocol": args.protocol,
        "seed": args.seed,
    }
    for item in args.option:
        if "=" not in item:
            raise ConfigError(f"--option {item!r}: use KEY=VALUE, e.g. --option power=4")
        key, value = item.split("=", 1)
        explicit[key.strip().replace("-", "_")] = value.strip()
    merged.update({k: v for k, v in explicit.items() if v is not None})
    run_keys = ("dataset", "iterations", "eval_at", "eval_nets", "eval_models", "eval_epochs", "protocol")
    run = {k: merged.pop(k) for k in run_keys if k in merged}
    run.setdefault("dataset", "mnist-5k")
    run.setdefault("iterations", 1000)
    run.setdefault("eval_at", "final")
    return run, coerce_options(METHODS[args.method].config_cls, merged)


def distill_config(args, run: dict, method_opts: dict, device, device_name: str | None) -> RunConfig:
    """The validated ``RunConfig`` of a distillation from :func:`resolve`'s (run options, method options); the
    evaluation protocol's default is that of ``device`` (where the run will execute), stored as ``device_name``."""
    from ..config import check_schedule, coerce_value
    from ..presets import parse_eval_at
    from ..spec import RunConfig

    ecfg = eval_config_from(
        argparse.Namespace(
            protocol=run.get("protocol"), eval_epochs=run.get("eval_epochs"), eval_models=run.get("eval_models")
        ),
        device,
    )
    iterations = coerce_value("iterations", run["iterations"], int)
    check_schedule(iterations, [])
    eval_at = check_schedule(iterations, parse_eval_at(run["eval_at"], iterations))
    nets = csv_list(run["eval_nets"]) if isinstance(run.get("eval_nets"), str) else run.get("eval_nets")
    return RunConfig(
        kind="distill",
        dataset=run["dataset"],
        dataset_options=dataset_options(args),
        method=args.method,
        method_options=method_opts,
        iterations=iterations,
        eval_at=eval_at,
        eval_nets=nets,
        eval=ecfg.to_dict(),
        device=device_name,
        reference=not args.no_reference,
    ).validate()


def cmd_distill(args) -> int:
    from ..device import pick_device
    from ..methods import METHODS
    from ..paths import data_home

    run, method_opts = resolve(args)
    device = pick_device(args.device)
    args.dataset = run["dataset"]
    cfg = distill_config(args, run, method_opts, device, args.device)
    ipc = cfg.method_options.get("ipc", 10)
    out = check_out_dir(
        Path(args.out)
        if args.out
        else data_home() / "out" / f"{args.method}-{run['dataset']}-ipc{ipc}-{datetime.now():%Y%m%d-%H%M%S}"
    )
    rec = record_run(cfg, device, out_dir=out)
    record = rec.record
    if rec.cancelled and not record.get("synthetic_path"):
        return report_cancelled(args, rec, f"{args.method} on {run['dataset']} (before its first synthetic set)")
    (out / "result.json").write_text(json.dumps(record, indent=2))
    what = f"{METHODS[args.method].label}  IPC {record['ipc']}  "
    if rec.cancelled:
        emit(
            args,
            f"{args.method} on {run['dataset']}, IPC {record['ipc']}: stopped by {rec.cancelled_by} after "
            f"{record['iterations']} of {cfg.iterations} iterations\n"
            + (f"{format_evals(record['evals'], what)}\n" if record["evals"] else "")
            + f"the last complete synthetic set is {record['synthetic_path']} (PNG grids in {out / 'png'}, "
            f"result.json in {out}); run #{rec.run_id} is recorded as cancelled",
            record,
        )
        return EXIT_CANCELLED
    spi = record["seconds_per_iteration"]
    experts = record.get("experts")
    if experts:
        print(
            f"experts: {experts['count']} trajectories of {experts['epochs']} epochs in {experts['folder']} "
            f"({experts['built']} built now, {experts['cached']} from the cache)"
        )
    human = (
        f"{args.method} on {run['dataset']}, IPC {record['ipc']}, {record['iterations']} iterations"
        + (f" ({spi:.3f} s/iteration)" if spi else "")
        + f", setup {record['seconds_setup']:.1f} s\nsaved {record['synthetic_path']} and PNG grids in {out / 'png'}"
    )
    for c in record.get("checkpoints", []):
        last, best = c["last"], c["best"]
        human += (
            f"\n{c['net']}: last checkpoint (@ {last['iteration']}) {100 * last['acc_mean']:.2f} %; best over "
            f"the {c['checkpoints']} evaluated checkpoints {100 * best['acc_mean']:.2f} % (@ {best['iteration']}, "
            f"picked on the test set: optimistic)"
        )
    evals = record["evals"]
    final = [e for e in evals if e["iteration"] == max(x["iteration"] for x in evals)] if evals else []
    if len(final) < len(evals):
        human += "\nevaluations:\n" + format_evals([e for e in evals if e not in final], what)
    human += ("\n" + format_evals(final, what)) if final else "\n(no evaluation: --eval-at none)"
    emit(args, human, record)
    return 0
