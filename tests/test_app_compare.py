"""Compare page (AppTest) and its data: runs side by side with accuracy per net at the final evaluated set, the
whole-dataset reference row, published numbers kept apart, protocol differences flagged, FLOPs, exports, and
"evaluate on more architectures" (an 'evaluate' run whose results join its source run's row)."""

from __future__ import annotations

import pytest
import streamlit as st

from dd_core.config import EvalConfig
from dd_core.reference_results import REFERENCES, references
from dd_core.runs.worker import submit
from dd_core.spec import RunConfig
from dd_core.ui import compare_data as cd
from tests import app_support
from tests.app_support import app, element_types, enter_world, finish_queued, make_world, texts, tiny_run

clean_streamlit = app_support.clean_streamlit  # fixture

PAGE = "pages/compare.py"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    def build(w, store):
        w.runs["dm"] = submit(store, tiny_run("dm", iterations=4, eval_at=[0, 4], epochs=2), start_worker=False)
        rnd = tiny_run("random", epochs=3)  # a different protocol (3 epochs vs 2)
        w.runs["random"] = submit(store, rnd, start_worker=False)
        w.runs["baseline"] = submit(
            store,
            RunConfig(
                kind="baseline", dataset="fashion-mnist", method=None, baseline={"net": "convnet-2", "epochs": 1}
            ),
            start_worker=False,
        )
        finish_queued(store)
        for rid in w.runs.values():
            assert store.get_run(rid)["status"] == "done", store.get_run(rid)["error"]

    return make_world(tmp_path_factory, build)


@pytest.fixture
def store(world, monkeypatch):
    s = enter_world(world, monkeypatch)
    yield s
    s.close()


def test_rows_use_the_final_evaluation_and_the_baseline_reference(world, store):
    dm = store.get_run(world.runs["dm"])
    row = cd.make_row(store, dm)
    assert set(row.acc) == {"convnet-2"}
    assert row.records["convnet-2"]["iteration"] == 4  # the last evaluated iteration, not 0
    assert row.iterations == 4 and row.seconds_per_iteration > 0 and row.init == "real"
    base = cd.baseline_row(store, "fashion-mnist")
    assert base.reference and base.acc["convnet-2"][1] is None
    df = cd.table([row, base], numeric=True)
    assert list(df["run"]) == [dm["id"], world.runs["baseline"]]
    assert "ConvNet-2 acc (%)" in df.columns and "ConvNet-2 std (%)" in df.columns
    md = cd.to_markdown(df)
    assert md.splitlines()[0].startswith("| run | name |") and len(md.splitlines()) == 4


def test_published_numbers_are_data_with_source_and_protocol():
    assert all(r.source and r.protocol for r in REFERENCES)
    dm = {r.ipc: r.acc for r in references("mnist", method="dm")}
    assert dm == {1: 89.7, 10: 97.5, 50: 98.6}
    assert [r.acc for r in references("cifar10", 10, "pad")] == [67.4]
    assert {r.acc for r in references("mnist-5k", method="pad")} == {51.3, 95.9}  # seed deck, IPC unstated
    assert [r.acc for r in references("fashion-mnist", method="whole")] == [93.5]
    pub = cd.published_table({("fashion-mnist", 1)}, {"dm", "random"})
    assert set(pub["published"]) == {"published"}
    assert {"DM", "random real", "whole dataset"} <= set(pub["method"])
    assert all(pub["protocol"]) and all(pub["source"])


def test_compare_page_table_flags_protocols_and_exports(world, store):
    at = app(PAGE)
    assert not at.exception and not texts(at.error), texts(at.error)
    picked = at.multiselect(key="compare.runs").value
    assert set(picked) == {world.runs["dm"], world.runs["random"]}
    table = at.dataframe[0].value
    assert "whole dataset" in set(table["method"])  # the reference row
    assert "ConvNet-2 (%)" in table.columns and all("." in v for v in table["ConvNet-2 (%)"])
    assert "different evaluation protocols" in texts(at.warning)
    published = at.dataframe[1].value
    assert "accuracy (%)" in published.columns and "ConvNet-2 (%)" not in published.columns
    labels = [d.label for d in at.get("download_button")]
    assert "CSV" in labels and "Markdown" in labels
    assert element_types(at).count("plotly_chart") >= 3  # bars, loss curves, accuracy vs iteration
    flops = at.dataframe[2].value
    assert flops["FLOPs / image (forward)"].str.contains("FLOPs").all()
    # filters
    at.multiselect(key="compare.method").set_value(["dm"]).run()
    assert at.multiselect(key="compare.runs").value == [world.runs["dm"]]


def test_evaluate_on_more_architectures_joins_the_row(world, store, monkeypatch):
    from dd_core.runs import worker as worker_mod

    monkeypatch.setattr(worker_mod, "launch_worker", lambda run_id=None: 0)
    at = app(PAGE)
    at.multiselect(key="compare.more.runs").set_value([world.runs["dm"]])
    at.multiselect(key="compare.more.nets").set_value(["mlp"])
    at.button(key="compare.more.go").click().run()
    assert "Queued evaluation run" in texts(at.success)
    ev = store.list_runs(kind="evaluate", status="queued")[0]
    assert ev["config"]["source_run"] == world.runs["dm"] and ev["config"]["eval_nets"] == ["mlp"]
    assert EvalConfig(**ev["config"]["eval"]).epochs == 2  # the run's own protocol
    finish_queued(store)
    assert store.get_run(ev["id"])["status"] == "done", store.get_run(ev["id"])["error"]
    st.cache_data.clear()  # the page caches run lists for a second
    at = app(PAGE)
    table = at.dataframe[0].value
    assert "MLP (%)" in table.columns
    row = table[table["run"] == world.runs["dm"]].iloc[0]
    assert row["MLP (%)"] and row["ConvNet-2 (%)"]
