"""The dashboard's worker against the command line on the same run: "the worker's own speed equals the CLI's for the
same config (no UI overhead on the hot path)".

    python benchmarks/worker_vs_cli.py [--method dm] [--iterations 100] [--repeats 2] [--json]

Each repeat runs ``python -m dd_core distill --method M --preset cpu-ipc10 --iterations N --eval-at none`` in a fresh
data home, takes the configuration the CLI recorded in its run store, queues exactly that configuration in another
fresh data home as the pages do and runs it with ``python -m dd_core worker RUN_ID`` (the process a page starts: it
streams metrics, snapshots and heartbeats to the store, at ``nice`` 10). Reported: seconds per iteration of each (the
run's own ``seconds_per_iteration``: the distillation loop only) and the whole process wall time. CLI and worker
alternate, so a drift of the machine's speed hits both. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dd_core.runs import RunStore  # noqa: E402
from dd_core.runs.worker import submit  # noqa: E402
from dd_core.spec import RunConfig  # noqa: E402


def _env(home: Path) -> dict:
    return {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}


def run_cli(method: str, iterations: int) -> tuple[dict, float]:
    """(the run's store row, wall seconds) of one CLI distillation."""
    home = Path(tempfile.mkdtemp(prefix="dd-cli-"))
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dd_core",
            "distill",
            "--method",
            method,
            "--preset",
            "cpu-ipc10",
            "--iterations",
            str(iterations),
            "--eval-at",
            "none",
            "--json",
        ],
        env=_env(home),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t
    (run,) = RunStore(home / "runs.sqlite3").list_runs()
    return run, wall


def run_worker(config: dict) -> tuple[dict, float]:
    """(the run's store row, wall seconds) of the same configuration run by the dashboard's worker process."""
    home = Path(tempfile.mkdtemp(prefix="dd-worker-"))
    os.environ["DD_HOME"] = str(home)
    store = RunStore(home / "runs.sqlite3")
    run_id = submit(store, RunConfig.from_dict(config), start_worker=False)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dd_core", "worker", str(run_id)],
        env=_env(home),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t
    return store.get_run(run_id), wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="dm")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for _ in range(args.repeats):
        cli_run, cli_wall = run_cli(args.method, args.iterations)
        assert cli_run["status"] == "done", cli_run["error"]
        w_run, w_wall = run_worker(cli_run["config"])
        assert w_run["status"] == "done", w_run["error"]
        rows.append(
            {
                "cli_s_per_it": cli_run["summary"]["seconds_per_iteration"],
                "cli_wall_s": cli_wall,
                "worker_s_per_it": w_run["summary"]["seconds_per_iteration"],
                "worker_wall_s": w_wall,
            }
        )
        print(json.dumps({k: round(v, 4) for k, v in rows[-1].items()}), file=sys.stderr)
    out = {k: round(statistics.median(r[k] for r in rows), 4) for k in rows[0]}
    out["worker_over_cli"] = round(out["worker_s_per_it"] / out["cli_s_per_it"], 3)
    out.update(
        method=args.method,
        iterations=args.iterations,
        repeats=args.repeats,
        preset="cpu-ipc10",
        dataset=cli_run["dataset"],
    )
    print(json.dumps(out) if args.json else "\n".join(f"{k:18} {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
