"""Helpers and fixtures of the dashboard tests (AppTest pages, worker faults). Import the fixtures into a test module
with ``from tests.app_support import *``."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dd_core.config import EvalConfig
from dd_core.runs import RunStore
from dd_core.spec import RunConfig

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

__all__ = [
    "ROOT",
    "APP",
    "clean_streamlit",
    "workers",
    "app",
    "tiny_run",
    "finish_queued",
    "wait_for",
    "query_run",
    "element_types",
    "texts",
    "error_under",
    "ancestors",
    "widgets",
    "all_text",
    "World",
    "make_world",
    "enter_world",
]


@pytest.fixture(autouse=True)
def clean_streamlit():
    """st.cache_data / st.cache_resource live for the process: clear them around every test (new data home)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def workers(monkeypatch):
    """Records the worker processes the pages start, and kills those still alive at the end of the test."""
    from dd_core.runs import worker as worker_mod

    started: list[int] = []
    original = worker_mod.launch_worker

    def launch(run_id=None):
        pid = original(run_id)
        started.append(pid)
        return pid

    monkeypatch.setattr(worker_mod, "launch_worker", launch)
    yield started
    for pid in started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def app(page: str | None = None, *, run: int | None = None, timeout: float = 60) -> AppTest:
    """AppTest of app.py, switched to ``page`` (e.g. 'pages/distill.py'), optionally with ``?run=``."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page)
        if run is not None:
            at.query_params["run"] = str(run)
        at.run()
    return at


def tiny_run(
    method: str = "dm",
    *,
    iterations: int = 4,
    ipc: int = 1,
    eval_at=None,
    epochs: int = 3,
    nets: list[str] | None = None,
    **opts,
) -> RunConfig:
    """A run that takes seconds on the tiny Fashion-MNIST set of the ``tiny_fashion`` fixture."""
    options = {"ipc": ipc, "net": "convnet-2", **opts}
    if method in ("dm", "am"):
        options.setdefault("batch_real", 8)
        options.setdefault("chunk", 0)  # skip measuring the fastest chunk size
    return RunConfig(
        kind="distill",
        dataset="fashion-mnist",
        method=method,
        method_options=options,
        iterations=iterations,
        eval_at=[iterations] if eval_at is None else eval_at,
        eval_nets=nets,
        eval=EvalConfig(protocol="custom", epochs=epochs, n_models=1).to_dict(),
    )


def finish_queued(store: RunStore) -> int:
    """Execute every queued run in this process (what the worker would do, without its start-up time). The pages'
    run lists are cached for a second; a page opened right after must not see the runs as still queued."""
    from dd_core.runs.worker import work
    from dd_core.ui.store_access import invalidate

    done = work(store=store)
    invalidate()
    return done


def wait_for(
    store: RunStore,
    run_id: int,
    statuses=("done", "failed", "cancelled", "interrupted"),
    timeout: float = 90,
    predicate=None,
) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = store.get_run(run_id)
        if predicate is not None:
            if predicate(run):
                return run
        elif run["status"] in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(
        f"run #{run_id} still {store.get_run(run_id)['status']} after {timeout} s; worker log:\n" + _worker_log()
    )


def _worker_log() -> str:
    from dd_core.paths import data_home

    p = data_home() / "worker.log"
    return p.read_text()[-3000:] if p.exists() else "(no worker.log)"


def query_run(at: AppTest) -> int | None:
    v = at.query_params.get("run")
    if isinstance(v, list):
        v = v[0] if v else None
    return int(v) if v else None


def element_types(at: AppTest) -> list[str]:
    out = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            out.append(getattr(child, "type", type(child).__name__))
            walk(child)

    walk(at.main)
    return out


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _walk(node, path=()):
    """(node, its ancestor blocks) for every node below ``node``, in drawing order."""
    for child in getattr(node, "children", {}).values():
        yield child, path
        yield from _walk(child, (*path, child))


def error_under(at: AppTest, key: str) -> str:
    """The error drawn right under the widget with ``key`` (the next element of its container), or ''."""
    for node, _ in _walk(at._tree):
        kids = list(getattr(node, "children", {}).values())
        for i, child in enumerate(kids):
            if getattr(child, "key", None) == key:
                nxt = kids[i + 1] if i + 1 < len(kids) else None
                return str(nxt.value) if nxt is not None and getattr(nxt, "type", "") == "error" else ""
    raise AssertionError(f"no widget with key {key!r}")


def ancestors(at: AppTest, key: str) -> list:
    """The blocks (columns, expanders, dialogs, ...) that hold the widget with ``key``, outermost first."""
    for node, path in _walk(at._tree):
        if getattr(node, "key", None) == key:
            return list(path)
    raise AssertionError(f"no widget with key {key!r}")


def widgets(at: AppTest, kind: str | None = None) -> list:
    """Every widget (an element with a key) of the page, sidebar and dialogs included; ``kind``: its type."""
    return [
        n for n, _ in _walk(at._tree) if getattr(n, "key", None) and (kind is None or getattr(n, "type", "") == kind)
    ]


def all_text(at: AppTest) -> str:
    """Every message, caption, label and help text of the page (sidebar and dialogs included)."""
    out = []
    for node, _ in _walk(at._tree):
        for attr in ("value", "label", "help", "body", "placeholder"):
            v = getattr(node, attr, None) if attr != "value" or getattr(node, "type", "") in _TEXT_TYPES else None
            if isinstance(v, str):
                out.append(v)
    return "\n".join(out)


_TEXT_TYPES = {"markdown", "caption", "error", "warning", "info", "success", "toast", "subheader", "header", "title"}


class World:
    """A data home shared by the tests of one module (runs are executed once, in-process): ``home``, ``fashion``
    (the tiny Fashion-MNIST folder) and ``runs`` (name -> run id)."""

    def __init__(self, home: Path, fashion: Path):
        self.home, self.fashion, self.runs = home, fashion, {}


def make_world(tmp_path_factory, build) -> World:
    """Create a module-wide data home with the tiny Fashion-MNIST set and call ``build(world, store)`` in it."""
    from dd_core.data import clear_cache
    from tests.helpers import write_learnable_fashion

    home = tmp_path_factory.mktemp("world_home")
    world = World(home, write_learnable_fashion(home / "fashion"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DD_HOME", str(home))
        mp.setenv("DD_FASHION_MNIST_DIR", str(world.fashion))
        clear_cache()
        s = RunStore()
        try:
            build(world, s)
        finally:
            s.close()
            clear_cache()
    return world


def enter_world(world: World, monkeypatch) -> RunStore:
    """Point DD_HOME (and the tiny dataset) at the shared world for this test; returns a store on it."""
    from dd_core.data import clear_cache

    monkeypatch.setenv("DD_HOME", str(world.home))
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(world.fashion))
    clear_cache()
    return RunStore()
