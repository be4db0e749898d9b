"""Run ids are never reused: deleting the newest run, emptying the store or starting a new store over existing run
folders never hands out an id whose folder (or history) belongs to another run. A run's folder is made exclusively."""

from __future__ import annotations

import logging

import pytest

from dd_core.paths import data_home
from dd_core.runs import RunStore, RunStoreError
from dd_core.runs import store as store_mod


def _remove_store_file(store: RunStore) -> None:
    store.close()
    for suffix in ("", "-wal", "-shm"):
        p = store.path.with_name(store.path.name + suffix)
        if p.exists():
            p.unlink()


def test_deleting_the_newest_run_never_frees_its_id(store):
    a, b, c = (store.create_run("distill", {"n": i}) for i in range(3))
    assert store.delete_run(c)
    d = store.create_run("distill", {})
    assert d == c + 1  # not c again: c's history (its folder, links to ?run=c) must not point at another run
    for rid in (a, b, d):  # an emptied store goes on counting too
        store.delete_run(rid)
    assert store.list_runs() == []
    assert store.create_run("distill", {}) == d + 1
    # ... also through a second store object (another process) on the same file
    assert RunStore(store.path).create_run("distill", {}) == d + 2


def test_a_new_store_over_existing_run_folders_continues_after_them(store, caplog):
    ids = [store.create_run("distill", {"n": i}) for i in range(3)]
    old = store.artifacts_dir(ids[-1]) / "snapshots" / "000010.pt"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old run's snapshot")
    _remove_store_file(store)  # the store file is deleted (or lost), the run folders stay
    orphan = data_home() / "runs" / "17"  # e.g. left by a run whose row was lost
    orphan.mkdir()

    fresh = RunStore()
    with caplog.at_level(logging.WARNING, logger="dd_core.runs.store"):
        rid = fresh.create_run("distill", {})
    assert rid == 18
    assert "runs/17" in caplog.text and "#18" in caplog.text  # said in a log line
    assert old.read_bytes() == b"old run's snapshot"  # the old run's files are untouched...
    assert sorted(p.name for p in fresh.artifacts_dir(rid).iterdir()) == ["run.json"]  # ...and not mixed in
    assert fresh.create_run("distill", {}) == 19
    fresh.close()


def test_a_run_folder_is_created_exclusively(store, monkeypatch):
    # a folder the id scan does not see (e.g. made by another program between the scan and the mkdir)
    monkeypatch.setattr(store_mod, "_largest_folder_id", lambda root: 0, raising=False)
    stray = data_home() / "runs" / "1"
    (stray / "snapshots").mkdir(parents=True)
    (stray / "snapshots" / "000000.pt").write_bytes(b"someone else's")
    with pytest.raises(RunStoreError) as err:
        store.create_run("distill", {})
    msg = str(err.value)
    assert str(stray) in msg and "already exists" in msg and "\n" not in msg
    assert store.list_runs() == []  # nothing half-created
    assert (stray / "snapshots" / "000000.pt").read_bytes() == b"someone else's"
    assert not (stray / "run.json").exists()
