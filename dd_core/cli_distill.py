"""``python -m dd_core distill``: run a method through ``run_distillation`` with a progress bar, save the set."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

from .errors import ConfigError


def add_parser(sub, add_common, add_dataset, add_eval) -> None:
    p = sub.add_parser(
        "distill",
        help="distill a synthetic set (dm, am, random, herding)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common(p)
    add_dataset(p, default=None)
    p.add_argument("--method", required=True, help="dm | am | pad | random | herding")
    p.add_argument("--preset", default=None, help="fills every option left unset (cpu-demo, paper)")
    p.add_argument("--ipc", type=int, default=None, help="synthetic images per class (default 10)")
    p.add_argument("--iterations", type=int, default=None, help="outer iterations (default 1000)")
    p.add_argument(
        "--net",
        default=None,
        help="network the method distills with (default: convnet-3 up to 32 px, convnet-7 at 128 px)",
    )
    p.add_argument("--init", default=None, help="real | noise")
    p.add_argument("--batch-real", type=int, default=None, help="real images per class per iteration")
    p.add_argument("--lr-img", type=float, default=None, help="learning rate of the synthetic images")
    p.add_argument(
        "--eval-at",
        default=None,
        help="iterations to evaluate at: '0,500,1000', 'final', 'every:N' or 'none' (default: final)",
    )
    add_eval(p)
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other hyper-parameter of the method's config, e.g. --option power=4",
    )
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", default=None, help="output folder (default: <data home>/out/<method>-<dataset>-...)")


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def resolve(args) -> tuple[dict, dict]:
    """Merge preset < explicit flags; return (run options, method options)."""
    from .presets import preset_options
    from .runner import METHODS

    if args.method not in METHODS:
        raise ConfigError(f"unknown method {args.method!r}; choose one of: {', '.join(METHODS)}")
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
        explicit[key.strip().replace("-", "_")] = _parse_value(value)
    merged.update({k: v for k, v in explicit.items() if v is not None})
    run_keys = ("dataset", "iterations", "eval_at", "eval_nets", "eval_models", "eval_epochs", "protocol")
    run = {k: merged.pop(k) for k in run_keys if k in merged}
    run.setdefault("dataset", "mnist-5k")
    run.setdefault("iterations", 1000)
    run.setdefault("eval_at", "final")
    return run, merged


class StepBar:
    """Progress on stderr: iteration, loss, it/s, ETA (a rewriting line on a terminal, a line every 10 s else)."""

    def __init__(self, total: int):
        import sys

        self.total, self.out, self.tty = total, sys.stderr, sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, event: dict) -> None:
        now = time.monotonic()
        kind = event["type"]
        if kind == "step":
            if now - self.last < (0.2 if self.tty else 10.0) and event["iteration"] != self.total:
                return
            it, rate = event["iteration"], event["it_per_s"]
            eta = (self.total - it) / rate if rate > 0 else 0
            parts = " ".join(f"{k} {v:.4g}" for k, v in event["metrics"].items())
            self._line(f"iter {it}/{self.total}  {parts}  {rate:.2f} it/s  ETA {eta:.0f}s")
        elif kind == "progress" and event.get("phase") == "experts":
            if event.get("cached"):
                if event["expert"] == event["experts"]:
                    self._line(f"experts: using {event['experts']} cached trajectories", newline=True)
                return
            if now - self.last < (0.2 if self.tty else 10.0) and not event.get("final"):
                return
            what = event.get("step") or f"epoch {event['epoch']}/{event['epochs']}"
            extra = (
                f"  test acc {event['test_acc']:.4f}"
                if "test_acc" in event
                else (f"  loss {event['loss']:.4f}" if "loss" in event else "")
            )
            self._line(
                f"experts: building expert {event['expert']}/{event['experts']} {what}{extra}",
                newline=bool(event.get("final")),
            )
        elif kind == "progress" and now - self.last > (0.2 if self.tty else 10.0):
            self._line(
                f"eval @ {event['iteration']}: {event['net']} model {event['model']}/{event['n_models']} "
                f"epoch {event['epoch']}/{event['epochs']}"
            )
        elif kind == "eval":
            self._line(
                f"eval @ {event['iteration']}: {event['net']} {100 * event['acc_mean']:.2f} ± "
                f"{100 * event['acc_std']:.2f} %",
                newline=True,
            )
        else:
            return
        self.last = now

    def _line(self, text: str, newline: bool = False) -> None:
        self.out.write(("\r\033[K" + text + ("\n" if newline else "")) if self.tty else text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


def cmd_distill(args) -> int:
    from . import cli
    from .config import RunConfig
    from .device import pick_device
    from .paths import data_home
    from .presets import parse_eval_at
    from .runner import check_schedule

    run, method_opts = resolve(args)
    device = pick_device(args.device)
    ecfg = cli.eval_config_from(
        argparse.Namespace(
            protocol=run.get("protocol"), eval_epochs=run.get("eval_epochs"), eval_models=run.get("eval_models")
        ),
        device,
    )
    iterations = run["iterations"]
    check_schedule(iterations, [])
    eval_at = check_schedule(iterations, parse_eval_at(run["eval_at"], iterations))
    nets = cli._csv(run["eval_nets"]) if isinstance(run.get("eval_nets"), str) else run.get("eval_nets")
    args.dataset = run["dataset"]
    cfg = RunConfig(
        kind="distill",
        dataset=run["dataset"],
        dataset_options=cli._dataset_options(args),
        method=args.method,
        method_options=method_opts,
        iterations=iterations,
        eval_at=eval_at,
        eval_nets=nets,
        eval=ecfg.to_dict(),
        device=args.device,
    ).validate()
    out = (
        Path(args.out)
        if args.out
        else data_home()
        / "out"
        / (f"{args.method}-{run['dataset']}-ipc{method_opts.get('ipc', 10)}-{datetime.now():%Y%m%d-%H%M%S}")
    )
    bar = StepBar(iterations)
    record = cli.record_run(cfg, device, bar, out_dir=out)
    bar.close()
    (out / "result.json").write_text(json.dumps(record, indent=2))
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
        + f", setup {record['seconds_setup']:.1f} s\n{cli.format_evals(record['evals'])}\n"
        f"saved {record['synthetic_path']} and PNG grids in {out / 'png'}"
    )
    for c in record.get("checkpoints", []):
        last, best = c["last"], c["best"]
        human += (
            f"\n{c['net']}: last checkpoint (@ {last['iteration']}) {100 * last['acc_mean']:.2f} %; best over "
            f"the {c['checkpoints']} evaluated checkpoints {100 * best['acc_mean']:.2f} % (@ {best['iteration']}, "
            f"picked on the test set: optimistic)"
        )
    cli.emit(args, human, record)
    return 0
