"""The report (``python -m dd_core report``, ``dd_core.report``): one self-contained HTML file of tiny DM / AM /
random runs (no http(s) resource, the grids inline, plotly.js once, the last set's numbers), its groups and failed
runs; the slide PNGs (≥ 1600 px wide) and one GIF frame per kept snapshot; refusals before any work."""

from __future__ import annotations

import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from dd_core.config import EvalConfig
from dd_core.runs.worker import submit
from dd_core.spec import RunConfig
from tests.app_support import enter_world, finish_queued, make_world, tiny_run
from tests.helpers import last_json, run_cli

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    def build(w, store):
        base = store.create_run("baseline", {"dataset_options": {}}, dataset="fashion-mnist", status="running")
        store.set_status(base, "done", summary={"net": "convnet-2", "epochs": 20, "test_acc": 0.97})
        w.runs["dm1"] = submit(store, tiny_run("dm", iterations=4, ipc=1, epochs=2), start_worker=False)
        w.runs["dm2"] = submit(store, tiny_run("dm", iterations=4, ipc=2, epochs=2), start_worker=False)
        w.runs["random"] = submit(store, tiny_run("random", ipc=1, epochs=2), start_worker=False)
        w.runs["am"] = submit(store, tiny_run("am", iterations=4, ipc=2, epochs=2), start_worker=False)
        finish_queued(store)
        dm1 = store.get_run(w.runs["dm1"])
        more = RunConfig(  # "evaluate on more architectures": its records join DM's in the report
            kind="evaluate",
            dataset="fashion-mnist",
            method=None,
            synthetic_path=dm1["summary"]["synthetic_path"],
            source_run=dm1["id"],
            eval_nets=["mlp"],
            eval=EvalConfig(protocol="custom", epochs=2, n_models=1).to_dict(),
        )
        w.runs["more"] = submit(store, more, start_worker=False)
        finish_queued(store)
        failed = tiny_run("dm", iterations=8, ipc=1, epochs=5).to_dict()  # another protocol: its own group
        w.runs["failed"] = store.create_run(
            "distill", failed, method="dm", dataset="fashion-mnist", ipc=1, status="running"
        )
        store.set_status(w.runs["failed"], "failed", error="DatasetError: the tiny folder went away")

    return make_world(tmp_path_factory, build)


@pytest.fixture
def store(world, monkeypatch):
    s = enter_world(world, monkeypatch)
    for name in ("dm1", "dm2", "random", "am", "more"):
        run = s.get_run(world.runs[name])
        assert run["status"] == "done", (name, run["error"])
    yield s
    s.close()


class Resources(HTMLParser):
    """Every src / href of the page's tags (scripts' text is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.links += [(tag, k, v or "") for k, v in attrs if k in ("src", "href")]


def resources(text: str) -> list[tuple[str, str, str]]:
    p = Resources()
    p.feed(text)
    return p.links


def test_report_of_a_dm_and_a_random_run_is_one_self_contained_file(world, store, capsys, tmp_path):
    out = tmp_path / "r.html"
    ids = f"{world.runs['dm1']},{world.runs['random']}"
    code, stdout, err = run_cli(capsys, "report", "--runs", ids, "--out", str(out), "--json")
    assert code == 0, err
    assert last_json(stdout)["runs"] == [world.runs["dm1"], world.runs["random"]]
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # one file
    text = out.read_text()
    links = resources(text)
    remote = [x for x in links if re.match(r"\s*(https?:)?//", x[2], re.I)]
    assert not remote, remote
    assert all(v.startswith("data:") for _, _, v in links), links  # every image inline
    assert text.count("* plotly.js v") == 1  # the library inlined once
    assert text.count("Plotly.newPlot") >= 2  # accuracy and loss charts
    pngs = [v for tag, _, v in links if tag == "img" and v.startswith("data:image/png;base64,")]
    assert len(pngs) >= 3  # DM's initial and final grids, the random set
    assert any(v.startswith("data:image/gif;base64,") for _, _, v in links)  # DM's snapshots
    # the headline of the LAST set with its references, in words
    dm_eval = store.evals(world.runs["dm1"])[-1]
    assert f"{100 * dm_eval['acc_mean']:.2f} % · 1 model (no spread)" in text
    assert f"{100 * dm_eval['random_acc_mean']:.1f} %" in text
    assert "97.0 % (20 epochs)" in text and "points" in text
    assert "Published numbers" in text and "Zhao &amp; Bilen" in text
    assert "1 fresh network of each evaluation net" in text  # the protocol in words


def test_groups_failed_runs_ipc_chart_and_attention_maps(world, store):
    from dd_core.report import build_report

    text = build_report(store, None)  # every distillation run
    assert "different evaluation protocols" in text  # the failed run's 5-epoch protocol: its own group
    assert "Group 2" in text
    assert "This run is failed: DatasetError: the tiny folder went away" in text
    assert "Accuracy vs IPC" in text  # DM at IPC 1 and 2
    assert "Attention maps (what AM matches)" in text
    assert "loss (log)" in text or "Loss" in text


def test_more_architectures_join_the_run_they_evaluated(world, store):
    from dd_core.report import build_report

    text = build_report(store, [world.runs["dm1"], world.runs["more"]])
    dm = text.index(f"#{world.runs['dm1']} DM · IPC 1")
    assert f"#{world.runs['more']} " not in text  # no section of its own
    assert "<td>MLP</td>" in text[dm:] and "<td>ConvNet-2</td>" in text[dm:]
    alone = build_report(store, [world.runs["more"]])  # on its own: named after the method of the set it evaluated
    assert f"#{world.runs['more']} DM · IPC 1" in alone


def test_gif_has_one_frame_per_kept_snapshot_and_a_bounded_size(world, store):
    from dd_core.report.gif import snapshots_gif

    snaps = store.snapshots(world.runs["am"])
    assert len(snaps) >= 3
    frames = [(s["iteration"], s["abs_path"]) for s in snaps]
    data = snapshots_gif(frames, total_iterations=4)
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == len(snaps)
    small = snapshots_gif(frames, total_iterations=4, max_bytes=len(data) // 3)
    shrunk = Image.open(io.BytesIO(small))
    assert shrunk.n_frames == len(snaps)  # scaled down, never a frame dropped
    assert len(small) <= len(data) // 3 and shrunk.height < gif.height


def test_figures_are_slide_sized_pngs_and_gifs(world, store, capsys, tmp_path):
    folder = tmp_path / "figs"
    ids = ",".join(str(world.runs[n]) for n in ("dm1", "dm2", "random", "am"))
    code, _, err = run_cli(capsys, "report", "--runs", ids, "--out", str(tmp_path / "r.html"), "--figures", str(folder))
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert not [p for p in folder.iterdir() if p.is_dir()]  # flat
    for expected in ("accuracy-1-fashion-mnist.png", "accuracy-vs-ipc-1-fashion-mnist.png", "loss-1-fashion-mnist.png"):
        assert expected in names, names
    for name in ("dm1", "dm2", "random", "am"):
        assert f"grids-run{world.runs[name]}.png" in names, names
    assert f"snapshots-run{world.runs['dm1']}.gif" in names
    for p in folder.glob("*.png"):
        with Image.open(p) as im:
            assert im.width >= 1600, (p.name, im.size)
    for p in folder.glob("*.gif"):
        assert p.stat().st_size < 3_000_000


def test_an_unknown_run_id_is_refused_with_the_valid_ids(world, store, capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", "--runs", "999", "--out", str(tmp_path / "r.html"))
    assert code == 2
    assert err.startswith("error: --runs: unknown run id 999; valid ids: ")
    for name in ("dm1", "random", "am", "failed"):
        assert str(world.runs[name]) in err.split("valid ids:")[1]
    assert not (tmp_path / "r.html").exists()
    base = store.list_runs(kind="baseline")[0]["id"]
    code, _, err = run_cli(capsys, "report", "--runs", str(base), "--out", str(tmp_path / "r.html"))
    assert code == 2 and f"run {base} is a baseline run" in err and "valid ids: " in err


@pytest.mark.parametrize("flag", ["--out", "--figures"])
def test_an_unwritable_output_is_refused_before_any_work(world, store, capsys, tmp_path, monkeypatch, flag):
    from dd_core.report import data as report_data

    def no_work(*a, **kw):
        raise AssertionError("the report was built before its output was checked")

    monkeypatch.setattr(report_data, "collect", no_work)
    monkeypatch.setattr(report_data, "select_runs", no_work)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = {"--out": str(tmp_path / "r.html"), "--figures": None}
    args[flag] = str(blocker / ("r.html" if flag == "--out" else "figs"))
    argv = ["report", "--runs", "all"] + [x for k, v in args.items() if v for x in (k, v)]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith(f"error: {flag}: cannot write the "), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.browser
def test_the_report_opens_offline_without_console_errors(world, store, tmp_path):
    from browser_util import CHROMIUM, DRIVER, missing

    from dd_core.report import build_report

    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    path = tmp_path / "report.html"
    path.write_text(build_report(store, [world.runs["dm1"], world.runs["random"], world.runs["am"]]))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        opts.add_argument(a)
    opts.add_argument("--disable-background-networking")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        driver.get(Path(path).as_uri())
        from browser_util import wait

        wait(driver, lambda d: d.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length"))
        charts = driver.execute_script("return document.querySelectorAll('.js-plotly-plot').length")
        assert charts >= 3
        images = driver.execute_script(
            "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert images == driver.execute_script("return document.images.length") >= 4
        fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert not [u for u in fetched if not u.startswith("data:")], fetched
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
    finally:
        driver.quit()
