"""The running dashboard in a real headless Chromium (Selenium + Debian's chromium / chromium-driver): start
``streamlit run app.py`` on a free port with its own data home, open the Distill page, start a 20-iteration DM run
with a small net on mnist-5k, wait for the live loss chart and the snapshot gallery, and save a screenshot of every
page to $DD_SCREENSHOT_DIR (`make screenshots` sets docs/screenshots; else a tmp dir). Prints the measured page timings."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
MAX_PNG = 300_000


def _missing() -> str | None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        return "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    import importlib.util
    if importlib.util.find_spec("selenium") is None:
        return "needs selenium (pip install -r requirements.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shrink_png(data: bytes, limit: int = MAX_PNG) -> bytes:
    """Screenshots stay commit-friendly: quantise to a 256-colour palette (and downscale) until < limit bytes."""
    from PIL import Image
    img = Image.open(io.BytesIO(data)).convert("RGB")
    scale = 1.0
    while True:
        im = img if scale == 1.0 else img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
        buf = io.BytesIO()
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
        if buf.tell() < limit or scale < 0.4:
            return buf.getvalue()
        scale *= 0.85


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _missing()
    if reason and os.environ.get("CI"):  # CI installs Chromium (.ci/run): a missing browser there is a failure
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("browser_home")
    port = _free_port()
    env = {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    log = open(home / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (home / "streamlit.log").read_text()[-2000:])
    yield url, home
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    from dd_core.runs import RunStore  # stop a worker that may still run
    store = RunStore(home / "runs.sqlite3")
    for r in store.list_runs(status="running"):
        try:
            os.kill(r["pid"], 9)
        except (ProcessLookupError, TypeError):
            pass


@pytest.fixture(scope="module")
def browser(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--window-size=1400,1300", "--hide-scrollbars"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, cond, timeout: float = 30, what: str = "") -> float:
    """Poll ``cond(driver)`` until truthy; return the seconds waited."""
    t = time.perf_counter()
    deadline = t + timeout
    last = None
    while time.perf_counter() < deadline:
        try:
            if cond(driver):
                return time.perf_counter() - t
        except Exception as err:  # noqa: BLE001 - stale elements while Streamlit redraws
            last = err
        time.sleep(0.05)
    try:
        text = _body(driver)[-1500:]
        driver.save_screenshot(str(Path(os.environ.get("DD_HOME", "/tmp")) / "browser-failure.png"))
    except Exception:  # noqa: BLE001
        text = "?"
    raise AssertionError(f"timed out after {timeout} s waiting for {what or cond} ({last}); page text:\n{text}")


def _body(driver) -> str:
    from selenium.webdriver.common.by import By
    return driver.find_element(By.TAG_NAME, "body").text


def _input(driver, label: str):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{label}"]')


def _type(driver, label: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys
    el = _input(driver, label)
    el.click()
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(value)
    el.send_keys(Keys.ENTER)


def _choose(driver, label: str, option: str) -> None:
    """A select box: click, type the option, Enter."""
    from selenium.webdriver.common.keys import Keys
    el = _input(driver, label)
    el.click()
    el.send_keys(option)
    time.sleep(0.2)
    el.send_keys(Keys.ENTER)


def _shot(driver, name: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{name}.png"
    p.write_bytes(_shrink_png(driver.get_screenshot_as_png()))
    assert p.stat().st_size < MAX_PNG
    return p


def test_live_run_in_the_browser_and_screenshots(server, browser, monkeypatch, tmp_path):
    from selenium.webdriver.common.by import By
    url, home = server
    monkeypatch.setenv("DD_HOME", str(home))  # runs queued from this process go to the server's store
    out = Path(os.environ.get("DD_SCREENSHOT_DIR") or tmp_path / "screenshots")  # `make screenshots`: docs/
    d = browser
    timings = {}
    t0 = time.perf_counter()

    # home: the first visit pays the imports of the server's first script run
    d.get(url + "/")
    t_first = time.perf_counter()
    timings["home_first_content_s"] = _wait(d, lambda d: "Recent runs" in _body(d), 30, "home: first content")
    _wait(
        d, lambda d: "Recent runs" in _body(d) and "Presets" in _body(d) and "Datasets" in _body(d)
        and d.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'), 30, "home")
    timings["home_first_visit_s"] = time.perf_counter() - t_first
    d.get(url + "/")
    timings["home_render_s"] = _wait(d, lambda d: "cpu-demo" in _body(d) and "mhist" in _body(d)
                                     and d.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'), 10,
                                     "home again")

    # distill: configure a 20-iteration DM run with ConvNet-2 on mnist-5k (IPC 3, 16 real images per class) and
    # start it
    d.get(url + "/distill")
    _wait(d, lambda d: _input(d, "iterations").get_attribute("value") == "200", 30, "distill form")
    _choose(d, "net", "convnet-2")
    _wait(d, lambda d: _input(d, "net").get_attribute("value") == "convnet-2", 10, "net chosen")
    _type(d, "ipc", "3")
    _wait(d, lambda d: _input(d, "ipc").get_attribute("value") == "3", 10, "ipc")
    _type(d, "batch real", "16")
    _wait(d, lambda d: _input(d, "batch real").get_attribute("value") == "16", 10, "batch real")
    _type(d, "epochs", "5")
    _wait(d, lambda d: _input(d, "epochs").get_attribute("value") == "5", 10, "epochs")
    _type(d, "models", "1")
    _wait(d, lambda d: _input(d, "models").get_attribute("value") == "1", 10, "models")
    _type(d, "iterations", "20")
    _wait(d, lambda d: _input(d, "iterations").get_attribute("value") == "20", 10, "iterations")
    start = next(b for b in d.find_elements(By.TAG_NAME, "button") if "Start" in b.text)
    _wait(d, lambda d: start.is_enabled(), 10, "start enabled")
    start.click()
    _wait(d, lambda d: "run=" in d.current_url, 20, "run id in the URL")
    run_id = int(d.current_url.split("run=")[1].split("&")[0])
    # a second 'tab' queues a short whole-dataset baseline behind it (the Baseline and Compare screenshots show it)
    from dd_core.config import RunConfig
    from dd_core.runs import RunStore
    from dd_core.runs.worker import submit
    store = RunStore(home / "runs.sqlite3")
    base_id = submit(store, RunConfig(kind="baseline", dataset="mnist-5k", method=None,
                                      baseline={"net": "mlp", "epochs": 3, "lr": 0.05, "batch_size": 64}))
    # live: the loss chart and the snapshot gallery appear while the run goes
    timings["first_chart_s"] = _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
                                     and "snapshot at iteration" in _body(d), 60, "loss chart + gallery")
    # live-update latency: from the worker writing iteration k to the store until the page shows it
    if store.get_run(run_id)["status"] == "running":
        seen = store.get_run(run_id)["iteration"] or 0
        deadline = time.time() + 30
        while time.time() < deadline:
            it = store.get_run(run_id)["iteration"] or 0
            if it > seen:
                timings["live_update_s"] = _wait(d, lambda d: _shown_iteration(d) >= it, 10, "live update")
                break
            time.sleep(0.02)
    # interaction latency while the run goes: an invalid value is refused next to its field
    from selenium.webdriver.common.keys import Keys
    running = store.get_run(run_id)["status"] == "running"
    field = _input(d, "lr img")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("-1")
    t = time.perf_counter()
    field.send_keys(Keys.ENTER)
    _wait(d, lambda d: "lr_img must be > 0" in _body(d), 10, "field error")
    timings["interaction_s" + ("_while_running" if running else "")] = time.perf_counter() - t
    _type(d, "lr img", "1")
    _wait(d, lambda d: "lr_img must be > 0" not in _body(d), 10, "error gone")
    # done: the final evaluation arrives in the page by itself (the fragment polls the store)
    _wait(d, lambda d: "±" in _body(d) and "iteration 20 / 20" in _body(d), 120, "evaluation of the final set")
    _wait(d, lambda d: "snapshot at iteration 20" in _body(d), 10, "last snapshot")
    # a refresh comes back to the same run (and shows the page from its top for the screenshot)
    d.refresh()
    _wait(d, lambda d: f"#{run_id} DM" in _body(d) and d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
          and "snapshot at iteration 20" in _body(d) and "Running" not in _status_text(d), 30,
          "reattached after refresh")
    time.sleep(1.0)
    shots = [_shot(d, "distill", out)]

    for name, path, marker in (("baseline", f"/baseline?run={base_id}", "Final test accuracy"),
                               ("gallery", f"/gallery?run={run_id}", "Initial vs final"),
                               ("compare", "/compare", "Reference row: the latest whole-dataset baseline"),
                               ("home", "/", "Recent runs")):
        d.get(url + path)
        _wait(d, lambda d: marker in _body(d) and "Running" not in _status_text(d), 60, name)
        if name == "gallery":
            _wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')) >= 3, 20,
                  "gallery images")
        if name == "compare":
            _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot"), 20, "compare charts")
        time.sleep(1.0)
        shots.append(_shot(d, name, out))
    timings["total_s"] = time.perf_counter() - t0
    print("\nDASHBOARD TIMINGS " + json.dumps({k: round(v, 3) for k, v in timings.items()}))
    assert timings["home_render_s"] < 3
    assert all(p.stat().st_size < MAX_PNG for p in shots)


def _shown_iteration(d) -> int:
    import re
    m = re.search(r"iteration (\d+) / 20", _body(d))
    return int(m.group(1)) if m else -1


def _status_text(d) -> str:
    from selenium.webdriver.common.by import By
    return " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))
