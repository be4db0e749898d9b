"""Rerun the results page's tables (docs/results.md): every published figure has one command here to check it.

    python benchmarks/accuracy.py --list                 # the rows, their commands and the published figures
    python benchmarks/accuracy.py --only dm-ipc10,random-ipc10
    python benchmarks/accuracy.py --all [--json]         # hours on a 2-core CPU: run it on a quiet machine

Each row runs its command alone (``python -m dd_core ... --json`` in a fresh data home unless the row says
otherwise; never two at once: on 2 cores they slow each other 3-10x), reads the JSON record and prints the
measured figure beside the published one with the wall seconds. A row with a ``floor`` fails (exit 1) when the
measured figure is below it. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def last_eval(record: dict) -> tuple[float, str]:
    """The accuracy of the LAST evaluated set (never the best checkpoint), in percent, and its text."""
    e = record["evals"][-1]
    spread = f" ± {100 * e['acc_std']:.2f}" if e["n_models"] > 1 else " (1 model, no spread)"
    return 100 * e["acc_mean"], f"{100 * e['acc_mean']:.2f}{spread} % ({e['n_models']} × {e['epochs']} ep)"


def gain_points(record: dict) -> tuple[float, str]:
    """The LAST set's gain over random real images under the same evaluation, in points (the presets' floors)."""
    e = record["evals"][-1]
    _, text = last_eval(record)
    return 100 * e["gain_over_random"], f"{text} vs random real {100 * e['random_acc_mean']:.1f} % " + (
        f"({100 * e['gain_over_random']:+.1f} points)"
    )


def experiment_runs(record: dict) -> tuple[float, str]:
    """Each run of ``experiment KEY``: its last evaluation per net (or the baseline's accuracy); value: the last."""
    parts, value = [], 0.0
    for run in record["runs"]:
        if "test_acc" in run:
            value = 100 * run["test_acc"]
            parts.append(f"{run['label']}: {value:.1f} % ({run['epochs']} epochs)")
            continue
        for e in run["evals"]:
            value = 100 * e["acc_mean"]
            ref = f", random real {100 * e['random_acc_mean']:.1f} %" if e.get("random_acc_mean") is not None else ""
            parts.append(f"{run['label']} @ {e['iteration']} on {e['net']}: {value:.1f} %{ref}")
    return value, "; ".join(parts)


def baseline_acc(record: dict) -> tuple[float, str]:
    return 100 * record["test_acc"], f"{100 * record['test_acc']:.2f} % ({record['epochs']} epochs)"


def bench_speed(record: dict) -> tuple[float, str]:
    parts = [f"{r['method']} {r['seconds_per_iteration']:.2f} s/it" for r in record["results"]]
    return record["results"][0]["seconds_per_iteration"], ", ".join(parts)


def flops(record: dict) -> tuple[float, str]:
    return record["flops_per_image"] / 1e6, f"{record['flops_per_image'] / 1e6:.1f} MFLOPs/image"


@dataclass(frozen=True)
class Row:
    key: str
    args: tuple[str, ...]
    published: str
    read: Callable[[dict], tuple[float, str]] = last_eval
    floor: float | None = None  # the figure must be at least this (percent / points / s / MFLOPs as read)
    max_seconds: float | None = None  # and the command must finish within this wall time
    fresh_home: bool = True


FM = ("--dataset", "fashion-mnist")
ROWS = [
    Row(
        "baseline-mnist5k",
        ("baseline", "--dataset", "mnist-5k", "--net", "convnet-3", "--epochs", "10"),
        "96.5 %",
        baseline_acc,
    ),
    Row("random-ipc10", ("evaluate", "--random-real", *FM, "--ipc", "10"), "76.55 ± 0.25 %"),
    Row("herding-ipc10", ("distill", "--method", "herding", *FM, "--ipc", "10"), "78.26 ± 0.01 %"),
    Row(
        "dm-ipc10",
        (
            "distill",
            "--method",
            "dm",
            *FM,
            "--ipc",
            "10",
            "--init",
            "real",
            "--batch-real",
            "64",
            "--iterations",
            "500",
        ),
        "80.90 ± 0.04 %",
    ),
    Row(
        "am-ipc10",
        (
            "distill",
            "--method",
            "am",
            *FM,
            "--ipc",
            "10",
            "--init",
            "real",
            "--batch-real",
            "64",
            "--iterations",
            "500",
        ),
        "80.99 ± 0.15 %",
    ),
    Row("random-ipc1", ("distill", "--method", "random", *FM, "--ipc", "1", "--iterations", "0"), "52.23 ± 0.20 %"),
    Row("herding-ipc1", ("distill", "--method", "herding", *FM, "--ipc", "1", "--iterations", "0"), "68.84 ± 1.14 %"),
    Row(
        "dm-ipc1-noise",
        (
            "distill",
            "--method",
            "dm",
            *FM,
            "--ipc",
            "1",
            "--init",
            "noise",
            "--batch-real",
            "64",
            "--iterations",
            "500",
        ),
        "71.81 ± 0.64 %",
        floor=65.0,
    ),
    Row(
        "am-ipc1-real",
        ("distill", "--method", "am", *FM, "--ipc", "1", "--init", "real", "--batch-real", "64", "--iterations", "500"),
        "72.54 ± 0.68 %",
    ),
    Row(
        "bench-dm-am-256",
        ("bench", "--methods", "dm,am", *FM, "--batch-real", "256"),
        "DM 2.02 s/it, AM 2.27 s/it",
        bench_speed,
    ),
    Row(
        "bench-am-dm-64",
        ("bench", "--methods", "am,dm", *FM, "--batch-real", "64"),
        "AM 0.68 s/it, DM 0.47 s/it",
        bench_speed,
    ),
    # the presets' targets (issue 10): gain over random real (points) and wall time from an empty data home
    Row(
        "cpu-demo-dm",
        ("distill", "--method", "dm", "--preset", "cpu-demo"),
        "85.5 % vs random real 57.1 % (+28.4 points), 95 s",
        gain_points,
        floor=20.0,
        max_seconds=120.0,
    ),
    Row(
        "cpu-demo-am",
        ("distill", "--method", "am", "--preset", "cpu-demo"),
        "83.3 % vs random real 57.1 % (+26.2 points), 103 s",
        gain_points,
        floor=20.0,
        max_seconds=120.0,
    ),
    Row(
        "cpu-demo-pad",
        ("distill", "--method", "pad", "--preset", "cpu-demo"),
        "84.0 % vs random real 57.1 % (+26.9 points), 323 s",
        gain_points,
        floor=10.0,
        max_seconds=600.0,
    ),
    Row(
        "cpu-demo-random",
        ("distill", "--method", "random", "--preset", "cpu-demo"),
        "50.3 % (seed 0; the 3 reference subsets: 57.1 %)",
    ),
    Row(
        "cpu-ipc10-dm",
        ("distill", "--method", "dm", "--preset", "cpu-ipc10"),
        "94.1 % (random real 94.0 %)",
        gain_points,
    ),
    # the ECE1512 deck's experiments at their CPU budget (docs/results.md, "The ECE1512 deck experiments")
    *[
        Row(f"experiment-{key}", ("experiment", key), "docs/results.md", experiment_runs)
        for key in ("am-mnist", "am-cross-arch", "dm-noise", "pad-init", "whole-mnist")
    ],
    Row("flops-convnet3", ("flops", "--net", "convnet-3", "--dataset", "mnist-5k"), "49.2 MFLOPs/image", flops),
]


def run_row(row: Row) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="dd-accuracy-") as home:
        if row.fresh_home:
            env["DD_HOME"] = home
        cmd = [sys.executable, "-m", "dd_core", *row.args, "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"key": row.key, "ok": False, "error": proc.stderr.strip().splitlines()[-1:], "seconds": seconds}
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    value, text = row.read(record)
    ok = (row.floor is None or value >= row.floor) and (row.max_seconds is None or seconds <= row.max_seconds)
    return {
        "key": row.key,
        "ok": ok,
        "measured": text,
        "value": value,
        "published": row.published,
        "floor": row.floor,
        "seconds": seconds,
    }


def command_text(row: Row) -> str:
    return ("DD_HOME=$(mktemp -d) " if row.fresh_home else "") + "python -m dd_core " + " ".join(row.args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the rows and their commands, run nothing")
    parser.add_argument("--only", default=None, help="comma-separated row keys")
    parser.add_argument("--all", action="store_true", help="run every row (hours on a 2-core CPU)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",")] if args.only else None
    unknown = sorted(set(keys or []) - {r.key for r in ROWS})
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from: {', '.join(r.key for r in ROWS)}")
    rows = [r for r in ROWS if keys is None or r.key in keys]
    if args.list or not (args.all or keys):
        for r in rows:
            print(f"{r.key:<18} published {r.published:<34} {command_text(r)}")
        return 0
    results = []
    for r in rows:
        print(f"{r.key}: {command_text(r)}", file=sys.stderr, flush=True)
        res = run_row(r)
        results.append(res)
        figure = res.get("measured") or f"FAILED: {res.get('error')}"
        floor = f" (floor {r.floor})" if r.floor is not None else ""
        print(f"{r.key:<18} measured {figure:<40} published {r.published}{floor}  [{res['seconds']:.0f} s]", flush=True)
    if args.json:
        print(json.dumps({"rows": results}))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
