"""The README's measured sweep: DM, AM and random real × IPC 1, 10 × seeds 0, 1 on mnist-5k at the cpu-demo budget.

    python benchmarks/sweep_example.py [--home DIR] [--screenshot docs/screenshots/sweep.png] [--json]

Runs ``python -m dd_core sweep --method dm,am,random --dataset mnist-5k --preset cpu-demo --grid ipc=1,10
--seeds 0,1 --json`` in a fresh data home (``--home``: keep it there), prints the command's wall time and the sweep's
Table 1 (``dd_core.sweeps.table``: the last accuracy of each trial, mean ± std over the seeds, random real beside it).
``--screenshot``: the dashboard's Sweep page on that sweep, in headless Chromium. Run it alone on the machine.
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
sys.path.insert(0, str(ROOT))
ARGV = ["--method", "dm,am,random", "--dataset", "mnist-5k", "--preset", "cpu-demo", "--grid", "ipc=1,10"]
ARGV += ["--seeds", "0,1"]


def label(trial: dict) -> str:
    return f"{trial['method']} ipc={trial['params']['ipc']} seed {trial['seed']}"


def screenshot(home: Path, sweep_id: int, path: Path) -> None:
    """The Sweep page of ``sweep_id`` served from ``home``, saved as ``path`` (1400 px wide, the whole page)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_util import make_driver, shot, start_server, stop_server, wait

    proc, url = start_server(home)
    driver = make_driver()
    try:
        driver.set_window_size(1400, 2200)
        driver.get(f"{url}/sweep?sweep={sweep_id}")
        wait(driver, lambda d: "Methods × IPC" in d.find_element("tag name", "body").text, 60, "the Table 1")
        time.sleep(2.0)
        shot(driver, path.stem, path.parent)
    finally:
        driver.quit()
        stop_server(proc, home)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--screenshot", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="dd-sweep-example-"))
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dd_core", "sweep", *ARGV, "--json"], env=env, cwd=ROOT, capture_output=True
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.decode()[-3000:])
    record = json.loads(proc.stdout.decode().strip().splitlines()[-1])

    os.environ["DD_HOME"] = str(home)
    from dd_core.runs import RunStore
    from dd_core.runs.sweeps import get_sweep
    from dd_core.sweeps.table import attach_ipc, markdown, table1
    from dd_core.sweeps.trials import trials_of

    with RunStore(home / "runs.sqlite3") as store:
        trials = trials_of(get_sweep(store, record["sweep_id"])["spec"])
    table = table1(attach_ipc(record["trials"], trials))
    out = {
        "command": "python -m dd_core sweep " + " ".join(ARGV),
        "wall_s": round(wall, 1),
        "trials": len(record["trials"]),
        "statuses": sorted({t["status"] for t in record["trials"]}),
        "trial_seconds": {label(t): round(t["seconds"], 1) for t in record["trials"]},
        "table1": table.to_dict(),
        "home": str(home),
        "sweep_id": record["sweep_id"],
    }
    if args.screenshot:
        screenshot(home, record["sweep_id"], args.screenshot)
        out["screenshot"] = str(args.screenshot)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['command']}\n{out['trials']} trials ({', '.join(out['statuses'])}) in {wall:.0f} s\n")
        print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
