"""Server start-up (``app.py``'s ``st.App`` lifespan): rule out Streamlit's ``pages/`` fallback
(:func:`navigation_only`), then import the engine once per server process, before the first visitor needs it.

A fresh server process has not imported PyTorch (≈ 2-3 s on a laptop CPU), pandas, plotly and the pages' modules
yet. Paid inside the first visitor's script run, that made the home page take 4-5 s. ``app.py`` registers
:func:`lifespan` with ``st.App``, so ``streamlit run app.py`` imports them (and probes the device) before it starts
accepting connections; the first visit of every page is then as fast as the later ones.

Importing in a background thread while the server already serves was measured too: the thread competes with serving
the frontend for Python's GIL, and the first home page took 3.2-3.7 s instead of ≈ 1.7 s (``benchmarks/ui_latency.py``).

The imported modules then go to the garbage collector's permanent generation (``gc.freeze``): Streamlit runs a full
``gc.collect(2)`` after every script run (``runner.postScriptGC``), i.e. every second per live page, and scanning
PyTorch's, pandas' and plotly's ≈ 270k long-lived objects took ≈ 0.1 s of GIL each time (half the server's CPU while a
run was watched, measured with py-spy); after the freeze it takes ≈ 2 ms.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

log = logging.getLogger("distilllab.ui")

# What the pages import, the home page's needs first.
MODULES = (
    "torch",
    "dd_core.device",
    "dd_core.experiments",
    "dd_core.runs.worker",
    "dd_core.ui.home_page",
    "pandas",
    "plotly.graph_objects",
    "dd_core.ui.distill_page",
    "dd_core.ui.gallery_page",
    "dd_core.ui.compare_page",
    "dd_core.ui.baseline_page",
    "dd_core.ui.sweep_page",
    "dd_core.ui.sweep_form",
    "dd_core.ui.sweep_watch",
    "dd_core.cli.sweep",
)


def import_engine(modules: tuple[str, ...] = MODULES) -> float:
    """Import ``modules``, probe the device once, then freeze what exists (``gc.freeze``); returns the seconds it
    took. A failure is logged only: the page that needs the module shows the error itself."""
    t0 = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - a broken import must not stop the server
            log.warning("warm-up: importing %s failed: %s", name, err)
    try:
        from dd_core.device import pick_device

        pick_device()
    except Exception as err:  # noqa: BLE001
        log.warning("warm-up: device probe failed: %s", err)
    gc.collect()
    gc.freeze()  # long-lived from here on: later collections skip these objects
    seconds = time.perf_counter() - t0
    log.info("warm-up: engine imported in %.2f s", seconds)
    return seconds


def navigation_only() -> None:
    """Tell Streamlit that ``app.py``'s ``st.navigation`` defines the pages, before the first session.

    Streamlit treats a ``pages/`` folder beside the main script as the old multipage layout until ``st.navigation``
    is first called in the process; so the first visitor of a fresh server who opens ``/distill`` directly (a
    bookmark, a refresh) got ``pages/distill.py`` run on its own: file names in the sidebar ("app", "baseline"...),
    no wide layout. ``st.navigation`` sets this very flag when it runs."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no such fallback either
        return
    PagesManager.uses_pages_directory = False


@asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """``st.App`` lifespan: the pages come from ``st.navigation``; import the engine before the server accepts
    connections."""
    navigation_only()
    await asyncio.to_thread(import_engine)
    yield
