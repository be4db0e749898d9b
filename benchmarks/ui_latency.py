"""Dashboard latency measured in a real headless Chromium, against the targets of the dashboard issue: home page
< 3 s after the server is up, page interactions < 1 s while a run goes, live updates within 1.5 s of the worker
writing them.

    python benchmarks/ui_latency.py [--iterations 300] [--seconds 40] [--rounds 5] [--json]

Starts ``streamlit run app.py`` with a fresh data home, then measures:

* ``server_start_s``: from launching ``streamlit run app.py`` to the server answering its health check (includes
  the engine's imports, done before it listens: ``dd_core/ui/warmup.py``);
* ``home_first_content_s`` / ``home_full_s``: first visit after the server is up, until the recent-runs block
  shows / until every block (device, presets, datasets) is drawn; ``home_render_s``: later visits (new browser
  session each), median of 5;
* with a DM run on mnist-5k going in the background worker (the cpu-ipc10 settings, ``--iterations`` long):
  ``live_update_s``: for every iteration the page shows, the time from the worker's write reaching the store (this
  process polls the store every 10 ms) to the page showing it (the DOM is polled every 50 ms); median and max;
* ``interaction_s``: a form field set to an invalid value until its error shows, and back (``--rounds`` times), then
  a select box change until the dependent fields show (Streamlit reruns while the run goes); timed in the page
  itself, from the key-down of the Enter that commits the value to the DOM change that shows the answer (a
  MutationObserver: the benchmark does not poll the page's layout meanwhile); median, 90th percentile and max;
* ``page_switch_s``: a click on each page of the sidebar navigation until a part drawn late in that page shows
  (Gallery: initial vs final of the running run; Compare: its run picker, as no run is finished yet; ...), timed the
  same way.

Needs Debian's chromium and chromium-driver and selenium (requirements.txt). CPU contention from other jobs makes
every figure worse: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_util import (  # noqa: E402 - tests/ on sys.path first
    SIDEBAR_TEXT_JS,
    arm_probe,
    body,
    choose,
    home_drawn,
    make_driver,
    missing,
    probe_seconds,
    start_server,
    stop_server,
    type_into,
    wait,
)


def _summary(values: list[float]) -> dict:
    if not values:
        return {"median": None, "p90": None, "max": None, "n": 0}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(values), 3),
        "p90": round(ordered[int(0.9 * (len(values) - 1))], 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def _shown_iteration(driver, total: int) -> int:
    m = re.search(rf"iteration ([\d,]+) / {total:,}", driver.execute_script("return document.body.innerText"))
    return int(m.group(1).replace(",", "")) if m else -1


def measure(iterations: int, seconds: float, rounds: int = 5) -> dict:
    import os

    from selenium.webdriver.common.by import By

    home = Path(tempfile.mkdtemp(prefix="dd-ui-latency-"))
    os.environ["DD_HOME"] = str(home)
    driver = make_driver()
    out: dict = {}
    t_launch = time.perf_counter()
    try:
        proc, url = start_server(home)
    except Exception:
        driver.quit()
        raise
    out["server_start_s"] = time.perf_counter() - t_launch
    try:
        t0 = time.perf_counter()
        driver.get(url + "/")
        wait(driver, lambda d: "Recent runs" in body(d), 30, "home content")
        out["home_first_content_s"] = time.perf_counter() - t0
        wait(driver, home_drawn, 30, "home complete")
        out["home_full_s"] = time.perf_counter() - t0
        renders = []
        for _ in range(5):
            t = time.perf_counter()
            driver.get(url + "/")
            wait(driver, home_drawn, 10, "home again")
            renders.append(time.perf_counter() - t)
        out["home_render_s"] = _summary(renders)

        from dd_core.presets import preset_options
        from dd_core.runs import RunStore
        from dd_core.runs.worker import submit
        from dd_core.spec import RunConfig

        store = RunStore(home / "runs.sqlite3")
        opts = preset_options("cpu-ipc10", "dm")
        method_options = {k: opts[k] for k in ("ipc", "batch_real")}
        cfg = RunConfig(
            kind="distill",
            dataset="mnist-5k",
            method="dm",
            method_options=method_options,
            iterations=iterations,
            eval_at=[iterations],
            eval={"protocol": "custom", "epochs": 20, "n_models": 1},
        )
        run_id = submit(store, cfg)
        seen: dict[int, float] = {}
        stop = threading.Event()

        def poll_store() -> None:
            reader = RunStore(home / "runs.sqlite3")
            while not stop.is_set():
                it = (reader.get_run(run_id) or {}).get("iteration") or 0
                seen.setdefault(it, time.perf_counter())
                time.sleep(0.01)

        poller = threading.Thread(target=poll_store, daemon=True)
        poller.start()
        driver.get(f"{url}/distill?run={run_id}")
        wait(driver, lambda d: _shown_iteration(d, iterations) > 0, 120, "the run moving on the page")
        lags, last_shown = [], -1
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            shown = _shown_iteration(driver, iterations)
            now = time.perf_counter()
            if shown > last_shown and shown in seen and last_shown >= 0:
                lags.append(now - seen[shown])
            last_shown = max(last_shown, shown)
            if shown >= iterations:
                break
            time.sleep(0.05)
        out["live_update_s"] = _summary(lags)

        clicks = []
        running = store.get_run(run_id)["status"] == "running"
        error = "Image learning rate must be > 0"
        for _ in range(rounds):  # from the key press that commits the value to the DOM showing the answer
            for value, pred in (
                ("-1", f"{SIDEBAR_TEXT_JS}.includes('{error}')"),
                ("1", f"!{SIDEBAR_TEXT_JS}.includes('{error}')"),
            ):
                arm_probe(driver, pred)
                type_into(driver, "Image learning rate", value)
                clicks.append(probe_seconds(driver))
        power = "document.querySelector('input[aria-label=\"power\"]')"
        for method, pred in (("DataDAM", f"{power} !== null"), ("DM", f"{power} === null")):
            arm_probe(driver, pred)
            choose(driver, "Method", method)
            clicks.append(probe_seconds(driver))
        out["interaction_s"] = _summary(clicks)
        # page switches from the sidebar navigation, until a part drawn late in the new page shows
        switches = {}
        for page, marker in (
            ("gallery", "Initial vs final"),
            ("compare", "Pick runs to compare"),
            ("baseline", "Configure the training"),
            ("home", "One-click experiments (the seed deck)"),
            ("distill", "Latest snapshot"),
        ):
            href = "/" if page == "home" else f"/{page}"  # the default page's link is the root URL
            link = driver.find_element(By.CSS_SELECTOR, f'[data-testid="stSidebarNav"] a[href$="{href}"]')
            arm_probe(driver, f"document.body.textContent.includes('{marker}')", trigger="click")
            link.click()
            try:
                switches[page] = round(probe_seconds(driver, 30), 3)
            except AssertionError:
                raise AssertionError(f"{page}: {marker!r} not shown; page: {body(driver)[:500]}") from None
        out["page_switch_s"] = switches
        out["interactions_while_running"] = running and store.get_run(run_id)["status"] == "running"
        stop.set()
        store.request_cancel(run_id)
    finally:
        driver.quit()
        stop_server(proc, home)
    import torch

    out.update(threads=torch.get_num_threads(), run_iterations=iterations)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=300, help="length of the background DM run")
    ap.add_argument("--seconds", type=float, default=40, help="how long to sample live updates")
    ap.add_argument("--rounds", type=int, default=5, help="invalid / valid value rounds of the interaction test")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    out = measure(args.iterations, args.seconds, args.rounds)
    if not args.json:
        for k, v in out.items():
            print(f"{k:<28}{v}")
    print(json.dumps(out) if args.json else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
