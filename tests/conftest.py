"""Shared fixtures: every test gets its own data home so nothing touches ~/.distilllab."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dd_home")
    monkeypatch.setenv("DD_HOME", str(home))
    yield home


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch):
    """A tiny learnable 10-class dataset written as Fashion-MNIST IDX files and loaded by the real loader."""
    from dd_core.data import clear_cache, load_dataset
    from tests.helpers import write_learnable_fashion

    folder = write_learnable_fashion(tmp_path / "fashion")
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(folder))
    clear_cache()
    yield load_dataset("fashion-mnist")
    clear_cache()


@pytest.fixture
def store():
    """The run store of the test's own data home."""
    from dd_core.runs import RunStore

    s = RunStore()
    yield s
    s.close()


@pytest.fixture(scope="module")
def one_thread():
    """Small workloads: one intra-op thread is as fast when idle and far faster when the 2 shared cores are busy
    (2 OpenMP threads competing with other processes slow these tests down ~8x)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
