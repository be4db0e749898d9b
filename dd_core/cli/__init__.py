"""``python -m dd_core`` (also the ``dd`` console script): argument parsing and dispatch.

One module per command group; each adds its sub-parsers and holds its ``cmd_*`` functions. Conventions: progress
goes to stderr; ``--json`` prints one JSON object as the last line of stdout; user errors exit 2 with one readable
line (a traceback only with ``--debug``) that names the flag at fault; a run cancelled by SIGINT / SIGTERM (or from
the dashboard) keeps what it finished and exits 130.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from ..errors import DDError
from . import datasets, distill, experiment, experts, report, runs, sweep, training
from .common import EXIT_CANCELLED, cli_message

COMMANDS = {
    "datasets": datasets.cmd_datasets,
    "flops": datasets.cmd_flops,
    "baseline": training.cmd_baseline,
    "evaluate": training.cmd_evaluate,
    "distill": distill.cmd_distill,
    "sweep": sweep.cmd_sweep,
    "bench": runs.cmd_bench,
    "experts": experts.cmd_experts,
    "experiment": experiment.cmd_experiment,
    "runs": runs.cmd_runs,
    "report": report.cmd_report,
    "worker": runs.cmd_worker,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dd_core", description="DistillLab engine: dataset distillation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (datasets, training, distill, sweep, experiment, runs, experts, report):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..device import tune_cpu_allocator

    parser = build_parser()
    args = parser.parse_args(argv)
    tune_cpu_allocator()
    handler = COMMANDS[args.command]
    try:
        return handler(args) or 0
    except DDError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {cli_message(err, args.command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C (or one outside a recorded run): abort at once
        print("interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as err:  # noqa: BLE001 - an unexpected failure: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
