"""``app.py`` as the server: ``streamlit run app.py`` finds its ``st.App`` (Streamlit's own discovery), whose
lifespan imports the engine before the server accepts connections (``dd_core.ui.warmup``)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path

import pytest
import streamlit as st

from dd_core.ui import warmup

APP = Path(__file__).resolve().parents[1] / "app.py"
pytestmark = pytest.mark.skipif(not hasattr(st, "App"), reason="this Streamlit has no st.App (the script still runs)")


def test_streamlit_run_finds_the_app_and_its_lifespan_imports_the_engine(monkeypatch):
    from streamlit import config
    from streamlit.web.server.app_discovery import discover_asgi_app

    monkeypatch.setattr(config, "_main_script_path", config._main_script_path)  # st.App sets it: restore after
    found = discover_asgi_app(APP)
    assert found.is_asgi_app and found.import_string == "app:app"
    spec = importlib.util.spec_from_file_location("distilllab_app_under_test", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imported as a module, not run as a script: no page is drawn
    assert isinstance(module.app, st.App)
    calls = []
    monkeypatch.setattr(warmup, "import_engine", lambda: calls.append("engine") or 0.0)
    from streamlit.runtime.pages_manager import PagesManager

    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)  # a fresh process: pages/ not yet ruled out

    async def start_and_stop():
        async with warmup.lifespan(module.app):
            assert calls == ["engine"]  # done before the server would accept connections
            assert PagesManager.uses_pages_directory is False  # pages/ is app.py's st.navigation, never MPA v1

    asyncio.run(start_and_stop())


def test_import_engine_imports_freezes_and_logs_failures_without_raising(caplog):
    import gc

    try:
        with caplog.at_level(logging.WARNING, logger="distilllab.ui"):
            warmup.import_engine(("json", "dd_core_no_such_module"))
        assert gc.get_freeze_count() > 10_000  # the imported modules' objects: skipped by later collections
    finally:
        gc.unfreeze()
    assert "dd_core_no_such_module" in caplog.text
