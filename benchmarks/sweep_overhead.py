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

Beside the wall times (which drift ±30 % on a shared 2-core machine), the CPU seconds of every process of each
command, read from /proc twice a second: a distill's whole process; a sweep's trial actors against the rest (the
command that drives them, the hub, Ray's daemons), which is the driver's cost in CPU, free of the machine's drift.

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


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> dict[int, tuple[str, float]]:
    """``{pid: (command line, CPU seconds so far)}`` of ``root`` and every process below it (read from /proc)."""
    parent, stats = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[int(d.name)] = int(fields[1])
        stats[int(d.name)] = (cmd, (int(fields[11]) + int(fields[12])) / TICK)
    mine = {root}
    for _ in range(8):  # a few generations: the command, Ray's daemons, their workers
        mine |= {p for p, pp in parent.items() if pp in mine}
    return {p: stats[p] for p in mine if p in stats}


def run(cmd: list[str], home: Path) -> tuple[dict, float, dict]:
    """(the command's --json record, its wall seconds, CPU seconds of its process tree: ``{"trials", "rest"}``,
    a trial's actor being the processes Ray names ``ray::TrialActor``)."""
    env = {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dd_core", *cmd, "--json"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    seen: dict[int, tuple[str, float]] = {}
    out: list[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: out.extend(proc.communicate()), daemon=True)
    reader.start()
    while proc.poll() is None:
        for pid, (line, cpu) in tree_cpu(proc.pid).items():
            name = "TrialActor" if "TrialActor" in line or "TrialActor" in seen.get(pid, ("", 0))[0] else line
            seen[pid] = (name, max(cpu, seen.get(pid, ("", 0.0))[1]))
        time.sleep(0.5)
    reader.join()
    wall = time.perf_counter() - t
    stdout, stderr = out if out else (b"", b"")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr.decode()[-3000:]}")
    trials = sum(c for n, c in seen.values() if n == "TrialActor")
    cpu = {"trials": round(trials, 1), "rest": round(sum(c for _, c in seen.values()) - trials, 1)}
    return json.loads(stdout.decode().strip().splitlines()[-1]), wall, cpu


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
        rec, wall, cpu = run(["distill", *fixed, "--seed", s], home)
        alone.append(
            {"seed": int(s), "wall_s": round(wall, 2), "cpu_s": cpu["rest"], "acc_mean": rec["evals"][-1]["acc_mean"]}
        )
        print(json.dumps(alone[-1]), file=sys.stderr)
    alone_s = sum(a["wall_s"] for a in alone)

    sweeps = {}
    for name, cpus in ((f"1x{cores}", cores), (f"{cores}x1", 1)):
        rec, wall, cpu = run(["sweep", *fixed, "--seeds", args.seeds, "--cpus-per-trial", str(cpus)], fresh_home(name))
        states = sorted({t["status"] for t in rec["trials"]})
        if states != ["done"]:
            raise SystemExit(f"sweep {name}: trials ended {states}")
        sweeps[name] = {
            "cpus_per_trial": cpus,
            "wall_s": round(wall, 2),
            "trial_s": [round(t["seconds"], 2) for t in rec["trials"]],
            "acc_mean": [t["acc_mean"] for t in rec["trials"]],
            "cpu_trials_s": cpu["trials"],
            "cpu_rest_s": cpu["rest"],  # the command (driver), the hub, Ray's daemons
            "cpu_rest_pct": round(100 * cpu["rest"] / max(cpu["trials"], 1e-9), 2),
            "cpu_per_trial_s": round(cpu["trials"] / len(seeds), 1),
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
        "distill_alone_cpu_mean_s": round(sum(a["cpu_s"] for a in alone) / len(alone), 1),
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
