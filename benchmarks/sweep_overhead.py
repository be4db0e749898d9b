"""The sweep driver's overhead per trial, and the faster way to fill a 2-core CPU (issue 13, Performance).

    python benchmarks/sweep_overhead.py [--method dm] [--preset cpu-demo] [--seeds 0,1,2,3] [--json]

Three measurements, one after the other, each in a fresh data home (so each side computes its random-real reference
once and reuses it, as a user's store does):

1. ``distill`` alone: ``python -m dd_core distill --method M --preset P --seed S --json`` for every seed, in turn;
   the sum of the commands' wall times.
2. The same trials as one sweep, one trial at a time with every core (``--cpus-per-trial`` = the machine's CPUs).
   Overhead per trial = (the sweep command's wall time − the sum of 1.) / trials: Ray's start and shut-down, the
   trials' actors, events and sets shipped back, the store writes. Must stay under 5 % of one distill's wall time.
3. The same sweep with one CPU (one torch thread) per trial, as many trials at a time as there are cores.

The faster of 2. and 3. is the sweep's default (``dd_core.sweeps.resources``). Run it alone on the machine: another
busy process changes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], home: Path) -> tuple[dict, float]:
    """(the command's --json record, its wall seconds)."""
    env = {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dd_core", *cmd, "--json"], env=env, cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()[-3000:]}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1]), wall


def fresh_home(tag: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"dd-bench-{tag}-"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="dm")
    ap.add_argument("--preset", default="cpu-demo")
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    seeds = [s for s in args.seeds.split(",") if s]
    cores = os.cpu_count() or 1
    fixed = ["--method", args.method, "--preset", args.preset]

    home = fresh_home("distill")
    alone = []
    for s in seeds:
        rec, wall = run(["distill", *fixed, "--seed", s], home)
        alone.append({"seed": int(s), "wall_s": round(wall, 2), "acc_mean": rec["evals"][-1]["acc_mean"]})
        print(json.dumps(alone[-1]), file=sys.stderr)
    alone_s = sum(a["wall_s"] for a in alone)

    sweeps = {}
    for name, cpus in ((f"1x{cores}", cores), (f"{cores}x1", 1)):
        rec, wall = run(["sweep", *fixed, "--seeds", args.seeds, "--cpus-per-trial", str(cpus)], fresh_home(name))
        states = sorted({t["status"] for t in rec["trials"]})
        if states != ["done"]:
            raise SystemExit(f"sweep {name}: trials ended {states}")
        sweeps[name] = {
            "cpus_per_trial": cpus,
            "wall_s": round(wall, 2),
            "trial_s": [round(t["seconds"], 2) for t in rec["trials"]],
            "acc_mean": [t["acc_mean"] for t in rec["trials"]],
        }
        print(json.dumps({name: sweeps[name]}), file=sys.stderr)

    serial = sweeps[f"1x{cores}"]
    per_trial = (serial["wall_s"] - alone_s) / len(seeds)
    mean_alone = alone_s / len(seeds)
    out = {
        "method": args.method,
        "preset": args.preset,
        "seeds": [int(s) for s in seeds],
        "cores": cores,
        "distill_alone_s": round(alone_s, 2),
        "distill_alone_mean_s": round(mean_alone, 2),
        "sweeps": sweeps,
        "overhead_per_trial_s": round(per_trial, 2),
        "overhead_pct_of_trial": round(100 * per_trial / mean_alone, 2),
        "faster": min(sweeps, key=lambda k: sweeps[k]["wall_s"]),
        "distill_alone": alone,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:24} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
