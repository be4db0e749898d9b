"""Shared fixtures: every test gets its own data home so nothing touches ~/.distilllab."""
from __future__ import annotations

import pytest



@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dd_home")
    monkeypatch.setenv("DD_HOME", str(home))
    yield home
