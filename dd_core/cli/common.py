"""What every command shares: the common flags, dataset/evaluation options, engine fields → flags, the output
folder check, running a recorded job (stopped cleanly by SIGINT / SIGTERM), and output.

Conventions: progress goes to stderr; ``--json`` prints one JSON object as the last line of stdout; a cancelled run
(Ctrl-C, SIGTERM, or the dashboard) keeps what it finished and exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DDError
from ..runs.store import RunStore
from .progress import ProgressPrinter, format_eval

if TYPE_CHECKING:
    from ..config import EvalConfig
    from ..data import RealData
    from ..spec import RunConfig

EXIT_CANCELLED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C

# Engine field (ConfigError.field) → the flag that sets it. Shared by every command, then per command; a distill
# method option without a flag of its own is set with ``--option NAME=...``.
FIELD_FLAGS: dict[str, str] = {
    "dataset": "--dataset",
    "path": "--data-path",
    "image_size": "--image-size",
    "channels": "--channels",
    "device": "--device",
    "net": "--net",
    "seed": "--seed",
    "out": "--out",
}
COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "distill": {
        "method": "--method",
        "preset": "--preset",
        "ipc": "--ipc",
        "iterations": "--iterations",
        "init": "--init",
        "batch_real": "--batch-real",
        "lr_img": "--lr-img",
        "eval_at": "--eval-at",
        "eval_nets": "--eval-nets",
        "protocol": "--protocol",
        "epochs": "--eval-epochs",
        "n_models": "--eval-models",
    },
    "sweep": {
        "method": "--method",
        "grid": "--grid",
        "seeds": "--seeds",
        "address": "--address",
        "preset": "--preset",
    },
    "evaluate": {
        "ipc": "--ipc",
        "eval_nets": "--nets",
        "protocol": "--protocol",
        "epochs": "--epochs",
        "n_models": "--models",
        "synthetic_path": "SYNTHETIC",
    },
    "baseline": {
        "epochs": "--epochs",
        "lr": "--lr",
        "momentum": "--momentum",
        "weight_decay": "--weight-decay",
        "batch_size": "--batch-size",
    },
    "experts": {
        "experts": "--experts",
        "trajectory_epochs": "--epochs",
        "expert_lr": "--lr",
        "init_ratio": "--init-ratio",
        "add_end_epoch": "--add-end-epoch",
        "rm_epoch_first": "--rm-epoch-first",
        "rm_epoch_second": "--rm-epoch-second",
        "rm_easy_ratio_first": "--rm-easy-first",
        "rm_easy_ratio_second": "--rm-easy-second",
        "score": "--score",
        "score_models": "--score-models",
        "score_epochs": "--score-epochs",
        "experts_path": "--out",
    },
    "flops": {"ipc": "--ipc", "epochs": "--epochs"},
    "report": {"runs": "--runs", "figures": "--figures", "sweep": "--sweep"},
}


def flag_for(field: str | None, command: str | None) -> str | None:
    """The flag of ``command`` that sets the engine field ``field`` (``--option NAME=...`` for other distill
    method options), or None."""
    if not field:
        return None
    flags = {**FIELD_FLAGS, **COMMAND_FLAGS.get(command or "", {})}
    if field in flags:
        return flags[field]
    return f"--option {field}=..." if command in ("distill", "sweep") else None


def cli_message(err: DDError, command: str | None) -> str:
    """``err``'s one line in the CLI's words: prefixed with the flag of its field (unless it names it already)."""
    text = str(err)
    flag = flag_for(getattr(err, "field", None), command) if isinstance(err, ConfigError) else None
    if flag is None or flag.split("=")[0] in text:
        return text
    return f"{flag}: {text}"


def check_out_dir(path: Path, field: str = "out") -> Path:
    """Create the output folder ``path`` (and its parents) and make sure a file can be written in it, before any
    work; else ConfigError naming the folder."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        where = f" ({err.filename})" if err.filename and Path(err.filename) != path else ""
        raise ConfigError(f"cannot write the output folder {path}: {reason}{where}", field=field) from None
    return path


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: CUDA when present)")


def add_no_reference(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the random-real reference (K random real images per class under the same evaluation, cached in "
        "the run store) that is reported beside every evaluation",
    )


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


class StopSignals:
    """While active (a ``with`` block in the main thread), SIGINT and SIGTERM set :attr:`event`, which the running job
    reads as a cancel request (it stops at its next check and keeps its last complete result); a second signal
    aborts at once (KeyboardInterrupt). The previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: str | None = None  # the name of the first signal, e.g. "SIGINT"
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def handle(self, signum: int, frame: object = None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        self.event.set()
        # os.write, not print: a handler may run while the main thread is inside a write to stderr
        os.write(2, f"\n{self.received}: stopping at the next check (again to abort now)\n".encode())


@dataclass
class Recorded:
    """A finished CLI run: its id in the store, final status ('done' | 'cancelled'), JSON record and, when
    cancelled, by what ('SIGINT', 'SIGTERM' or 'the dashboard')."""

    run_id: int
    status: str
    record: dict
    cancelled_by: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def record_run(cfg: RunConfig, device, out_dir: Path | None = None) -> Recorded:
    """Run ``cfg`` in this process, recorded in the run store (so it shows up in the dashboard), with its progress on
    stderr; SIGINT / SIGTERM stop it cleanly (see :class:`StopSignals`). The record's evaluations come back with
    their whole-dataset reference (``runs/references.py``) beside the random-real one the job put there."""
    from ..runs.references import run_evals_with_references
    from ..runs.worker import run_recorded

    store = RunStore()
    bar = ProgressPrinter(cfg.iterations if cfg.kind == "distill" else 0)
    with StopSignals() as signals:
        try:
            run_id, status, record = run_recorded(store, cfg, device, bar, out_dir, signals.event.is_set)
        finally:
            bar.close()
    by = (signals.received or "the dashboard") if status == "cancelled" else None
    record = dict(record or {})
    run = store.get_run(run_id)
    if record.get("evals") and run is not None:
        record["evals"] = run_evals_with_references(store, run, record["evals"])
    return Recorded(run_id, status, record, by)


def report_cancelled(args, rec: Recorded, what: str) -> int:
    """Say that ``what`` was cancelled (and that the run is recorded so); emit the record; return 130."""
    emit(args, f"{what} cancelled by {rec.cancelled_by}; run #{rec.run_id} is recorded as cancelled", rec.record)
    return EXIT_CANCELLED


def format_evals(evals: list[dict], what: str = "") -> str:
    """Every evaluation, one indented line each (:func:`format_eval`); ``what`` prefixes each, e.g. 'DM  IPC 1  '."""
    return "\n".join("  " + format_eval(e, what) for e in evals)


def emit(args, human: str, record: dict) -> None:
    """Print the human-readable summary, then (with --json) the JSON record as the last stdout line."""
    print(human)
    if getattr(args, "json", False):
        print(json.dumps(record))
