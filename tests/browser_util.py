"""Driving the running dashboard in headless Chromium (Selenium + Debian's chromium / chromium-driver): start and stop
``streamlit run app.py`` with its own data home, open a driver, wait on the page, fill widgets, take screenshots.
Shared by ``tests/test_browser.py`` and ``benchmarks/ui_latency.py``."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
MAX_PNG = 300_000


def missing() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        return "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    import importlib.util

    if importlib.util.find_spec("selenium") is None:
        return "needs selenium (pip install -r requirements.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port with ``DD_HOME=home``; returns (process, url) once it answers."""
    port = free_port()
    env = {**os.environ, "DD_HOME": str(home), "PYTHONPATH": str(ROOT)}
    log = open(home / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start: " + (home / "streamlit.log").read_text()[-2000:])


def stop_server(proc: subprocess.Popen, home: Path) -> None:
    """Stop the server and any worker it left running in ``home``'s store."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    from dd_core.runs import RunStore

    store = RunStore(home / "runs.sqlite3")
    for r in store.list_runs(status="running"):
        try:
            os.kill(r["pid"], signal.SIGKILL)
        except (ProcessLookupError, TypeError):
            pass


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1400,1300",
        "--hide-scrollbars",
    ):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    return driver


def body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def wait(driver, cond, timeout: float = 30, what: str = "", poll: float = 0.05) -> float:
    """Poll ``cond(driver)`` until truthy; return the seconds waited (AssertionError with the page text on timeout)."""
    t = time.perf_counter()
    deadline = t + timeout
    last = None
    while time.perf_counter() < deadline:
        try:
            if cond(driver):
                return time.perf_counter() - t
        except Exception as err:  # noqa: BLE001 - stale elements while Streamlit redraws
            last = err
        time.sleep(poll)
    try:
        text = body(driver)[-1500:]
        driver.save_screenshot(str(Path(os.environ.get("DD_HOME", "/tmp")) / "browser-failure.png"))
    except Exception:  # noqa: BLE001
        text = "?"
    raise AssertionError(f"timed out after {timeout} s waiting for {what or cond} ({last}); page text:\n{text}")


def input_el(driver, label: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{label}"]')


def type_into(driver, label: str, value: str) -> None:
    """Replace a text/number input's value and press Enter."""
    from selenium.webdriver.common.keys import Keys

    el = input_el(driver, label)
    el.click()
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(value)
    el.send_keys(Keys.ENTER)


def choose(driver, label: str, option: str) -> None:
    """A select box: click, type the option, Enter."""
    from selenium.webdriver.common.keys import Keys

    el = input_el(driver, label)
    el.click()
    el.send_keys(option)
    time.sleep(0.2)
    el.send_keys(Keys.ENTER)


def home_drawn(driver) -> bool:
    """Every block of the home page is there: device, presets, datasets."""
    text = body(driver)
    return all(m in text for m in ("Torch threads", "Run demo", "fashion-mnist"))


def set_field(driver, label: str, value: str, select: bool = False) -> None:
    """Type (or choose, for a select box) ``value`` into the field labelled ``label`` and wait until it shows it."""
    (choose if select else type_into)(driver, label, value)
    wait(driver, lambda d: input_el(d, label).get_attribute("value") == value, 10, f"{label} = {value}")


SIDEBAR_TEXT_JS = """document.querySelector('[data-testid="stSidebar"]').textContent"""  # for probe predicates

_PROBE_JS = """
const predicate = new Function('return (' + arguments[0] + ');');
const trigger = arguments[1];      // 'keydown' (the Enter that commits a value) or 'click'
if (window.__ddObserver) window.__ddObserver.disconnect();
if (window.__ddTrigger) document.removeEventListener(window.__ddTrigger[0], window.__ddTrigger[1], {capture: true});
const probe = window.__ddProbe = {t0: null, t1: null};
const start = e => {
  if ((trigger === 'click' || e.key === 'Enter') && probe.t0 === null) probe.t0 = performance.now();
};
window.__ddTrigger = [trigger, start];
document.addEventListener(trigger, start, {capture: true});
const check = () => {             // the answer is in the DOM: time the end of the frame that paints it
  if (probe.t0 === null || probe.seen || !predicate()) return;
  probe.seen = true;
  requestAnimationFrame(() => setTimeout(() => { probe.t1 = performance.now(); }, 0));
};
window.__ddObserver = new MutationObserver(check);
window.__ddObserver.observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
"""


def arm_probe(driver, predicate_js: str, trigger: str = "keydown") -> None:
    """Measure in the page itself: from the next Enter key-down (``trigger="click"``: the next click) to the frame
    that paints the first DOM change after which the JavaScript expression ``predicate_js`` is true (a
    MutationObserver, then the next animation frame; the test does not poll the page's layout meanwhile, which on a
    2-core machine slows the page it measures)."""
    driver.execute_script(_PROBE_JS, predicate_js, trigger)


def probe_seconds(driver, timeout: float = 10) -> float:
    """The armed probe's latency in seconds (waits for it; AssertionError on timeout)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        ms = driver.execute_script("const p = window.__ddProbe; return p && p.t1 !== null ? p.t1 - p.t0 : null;")
        if ms is not None:
            return ms / 1000
        time.sleep(0.05)
    raise AssertionError(f"the page did not answer within {timeout:.0f} s")


def status_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))


def shrink_png(data: bytes, limit: int = MAX_PNG) -> bytes:
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


def shot(driver, name: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{name}.png"
    p.write_bytes(shrink_png(driver.get_screenshot_as_png()))
    assert p.stat().st_size < MAX_PNG
    return p
