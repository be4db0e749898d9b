"""What every command shares: the common flags, dataset/evaluation options, running a recorded job, and output.

Conventions: progress goes to stderr; ``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import EvalConfig
    from ..data import RealData


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: CUDA when present)")


def add_dataset(p: argparse.ArgumentParser, default: str | None = "mnist-5k") -> None:
    p.add_argument("--dataset", default=default, help="dataset name (see `python -m dd_core datasets`)")
    p.add_argument("--data-path", default=None, help="folder for `mhist` and `folder` datasets")
    p.add_argument("--image-size", type=int, default=None, help="resize to this side (mhist, folder)")
    p.add_argument("--channels", type=int, default=None, help="1 or 3 (folder)")


def add_eval(p: argparse.ArgumentParser) -> None:
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


def dataset_options(args) -> dict:
    return {
        k: v
        for k, v in (("path", args.data_path), ("image_size", args.image_size), ("channels", args.channels))
        if v is not None
    }


def csv_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def eval_config_from(args, device) -> EvalConfig:
    from ..config import EvalConfig

    return EvalConfig.from_protocol(args.protocol, device=device, epochs=args.eval_epochs, n_models=args.eval_models)


def load_real(args, device) -> RealData:
    from ..data import load_dataset

    return load_dataset(args.dataset, **dataset_options(args)).to(device)


def record_run(cfg, device, on_event, out_dir=None) -> dict:
    """Run ``cfg`` in this process, recorded in the run store (so it shows up in the dashboard)."""
    from ..runs.store import RunStore
    from ..runs.worker import run_recorded

    _, status, record = run_recorded(RunStore(), cfg, device, on_event, out_dir)
    if status == "cancelled":
        raise ConfigError("the run was cancelled (from the dashboard)")
    return record


def format_evals(evals: list[dict]) -> str:
    return "\n".join(
        f"  {'@ ' + str(e['iteration']) if 'iteration' in e else '':<8}{e['net']:<12} "
        f"{100 * e['acc_mean']:.2f} ± {100 * e['acc_std']:.2f} %  "
        f"({e['n_models']} models x {e['epochs']} epochs, {e['protocol']})"
        for e in evals
    )


def emit(args, human: str, record: dict) -> None:
    """Print the human-readable summary, then (with --json) the JSON record as the last stdout line."""
    print(human)
    if getattr(args, "json", False):
        print(json.dumps(record))
