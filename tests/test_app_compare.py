"""Compare page (AppTest) and its data: runs side by side with accuracy per net at the final evaluated set, the
whole-dataset reference row, published numbers kept apart, protocol differences flagged, FLOPs, exports, and
"evaluate on more architectures" (an 'evaluate' run whose results join its source run's row)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dd_core.config import EvalConfig
from dd_core.reference_results import REFERENCES, references
from dd_core.runs.worker import submit
from dd_core.spec import RunConfig
from dd_core.ui import compare_data as cd
from tests import app_support
from tests.app_support import APP, app, enter_world, finish_queued, make_world, texts, tiny_run

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
    base = cd.baseline_row(store, "fashion-mnist", ["convnet-2"])
    assert base.reference and base.acc["convnet-2"][1] is None
    assert "1 epoch (baseline" in base.name and f"#{world.runs['baseline']}" in base.name
    assert cd.baseline_row(store, "fashion-mnist", ["lenet"]) is None  # no baseline of that net
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


def frame_with(at, column: str):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def chart_titles(at) -> list[str]:
    import json

    out = []
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = (spec.get("layout") or {}).get("title") or {}
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def test_compare_page_table_flags_protocols_and_exports(world, store):
    at = app(PAGE)
    assert not at.exception and not texts(at.error), texts(at.error)
    picked = at.multiselect(key="compare.runs").value
    assert set(picked) == {world.runs["dm"], world.runs["random"]}
    headline = frame_with(at, "gain (points)")
    assert {"accuracy (%)", "random real (%)", "whole dataset (%)", "gap closed"} <= set(headline.columns)
    assert not headline.isin(["None", "nan"]).any().any()
    dm = headline[headline["run"].str.startswith(f"#{world.runs['dm']} ")].iloc[0]
    assert dm["random real (%)"] != "–" and dm["whole dataset (%)"].endswith("(1 ep)")
    table = frame_with(at, "ConvNet-2 (%)")
    assert "whole dataset" in set(table["method"])  # the reference row
    assert not table.isin(["None", ""]).any().any()  # empty cells read "–"
    warnings = texts(at.warning)
    assert "different evaluation protocols" in warnings
    assert "fewer than the 20-epoch protocol" in warnings  # the 1-epoch baseline is no upper bound
    published = frame_with(at, "source")
    assert "accuracy (%)" in published.columns and "ConvNet-2 (%)" not in published.columns
    labels = [d.label for d in at.get("download_button")]
    assert {"CSV", "Markdown", "Headline CSV", "Download report"} <= set(labels)
    titles = chart_titles(at)
    assert any(t.startswith("Test accuracy") for t in titles) and "Accuracy vs iteration" in titles
    assert any(t.startswith("Loss") for t in titles)
    compute = frame_with(at, "distillation (wall · FLOPs estimate)")
    assert compute["train on the set"].str.contains("FLOPs").all()
    assert compute["set vs whole"].str.contains("× less").all()
    dm_compute = compute[compute["run"].str.startswith(f"#{world.runs['dm']} ")].iloc[0]
    assert " on cpu · ≈ " in dm_compute["distillation (wall · FLOPs estimate)"]
    # filters; with one evaluated iteration only, no accuracy-vs-iteration chart
    at.multiselect(key="compare.method").set_value(["random"]).run()
    assert at.multiselect(key="compare.runs").value == [world.runs["random"]]
    assert "Accuracy vs iteration" not in chart_titles(at)


def test_presentation_mode_lives_in_the_url_and_survives_reruns(world, store):
    at = app(PAGE)
    assert at.toggle(key="compare.present").value is False
    at.toggle(key="compare.present").set_value(True).run()
    assert at.query_params.get("present") in ("1", ["1"])
    css = [m.value for m in at.markdown if "stSidebar" in m.value]
    assert css, "presentation mode hides the sidebar and enlarges the type"
    assert at.table, "the headline is a large-type table in presentation mode"
    at.run()
    assert at.toggle(key="compare.present").value is True and at.table
    at.toggle(key="compare.present").set_value(False).run()
    assert "present" not in at.query_params and not [m for m in at.markdown if "stSidebar" in m.value]


def test_the_reference_row_is_trusted_only_when_it_is_one():
    base = cd.Row(9, "whole", "baseline", "whole", "mnist-5k", "all", reference=True)
    base.acc["convnet-3"] = (0.89, None)
    base.records["convnet-3"] = {"epochs": 2, "acc_mean": 0.89, "run_id": 9, "n_models": 1}
    dm = cd.Row(1, "#1 DM", "distill", "dm", "mnist-5k", 10)
    dm.acc["convnet-3"] = (0.94, 0.0)
    warnings = cd.reference_warnings([dm, base], base)
    assert any("2 epochs, fewer than the 20-epoch protocol" in w for w in warnings)
    assert any("scores below #1 DM (94.0 %)" in w for w in warnings)
    base.records["convnet-3"].update(epochs=20, acc_mean=0.97)
    base.acc["convnet-3"] = (0.97, None)
    assert cd.reference_warnings([dm, base], base) == []
    assert cd.ratio_text(1.0, 5.3) == "5.3× less" and cd.ratio_text(2.0, 1.0) == "2× more"
    assert cd.ratio_text(None, 1.0) == "–"
    from dd_core.labels import gap_text

    assert gap_text(0.674) == "67 % of the gap closed" and gap_text(-13.54) == "below random real"


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
    table = frame_with(at, "ConvNet-2 (%)")
    assert "MLP (%)" in table.columns
    row = table[table["run"] == str(world.runs["dm"])].iloc[0]
    assert row["MLP (%)"] and row["ConvNet-2 (%)"]


def test_add_herding_at_this_ipc_queues_a_job_evaluated_like_the_run(world, store, monkeypatch):
    from dd_core.runs import worker as worker_mod

    monkeypatch.setattr(worker_mod, "launch_worker", lambda run_id=None: 0)
    dm = store.get_run(world.runs["dm"])
    at = app(PAGE)
    key = f"compare.herding.{dm['dataset']}.{dm['ipc']}"
    at.button(key=key).click().run()
    assert not at.exception and not texts(at.error), texts(at.error)
    queued = [r for r in store.list_runs(kind="distill", status="queued") if r["method"] == "herding"]
    assert len(queued) == 1
    cfg = queued[0]["config"]
    assert cfg["method_options"]["ipc"] == dm["ipc"] and cfg["eval"] == dm["config"]["eval"]
    assert queued[0]["id"] in at.multiselect(key="compare.runs").value  # it joins the comparison
    assert "Updating live" in texts(at.info)  # and the page watches it
    store.delete_run(queued[0]["id"], force=True)  # the module's other tests see the world unchanged


def test_the_sweep_filter_narrows_the_runs_and_the_table_names_each_runs_sweep():
    """On a store of its own (not the module's world): two trials of a sweep and a run of none, evaluated by hand."""
    from dd_core.runs import RunStore
    from dd_core.runs.sweeps import create_sweep

    s = RunStore()
    sweep = create_sweep(s, {"trials": [{"method": "dm", "params": {}, "config": {"dataset": "fashion-mnist"}}] * 2})

    def evaluated(acc: float, **kw) -> int:
        rid = s.create_run(
            "distill", tiny_run("dm").to_dict(), method="dm", dataset="fashion-mnist", ipc=1, status="running", **kw
        )
        rec = {"iteration": 4, "net": "convnet-2", "acc_mean": acc, "acc_std": 0.0, "n_models": 1, "epochs": 3}
        s.add_eval(rid, {**rec, "protocol": "custom", "random_acc_mean": 0.3})
        s.set_status(rid, "done", summary={"iterations": 4, "seconds": 1.0})
        return rid

    trials = [evaluated(0.5 + i / 10, sweep_id=sweep, trial=i) for i in range(2)]
    plain = evaluated(0.4)
    s.close()
    at = app(PAGE)
    assert not at.exception and not texts(at.error), texts(at.error)
    table = frame_with(at, "ConvNet-2 (%)")
    sweeps = dict(zip(table["run"], table["sweep"], strict=True))
    assert sweeps == {str(trials[0]): f"#{sweep}", str(trials[1]): f"#{sweep}", str(plain): "–"}

    def offered() -> set[int]:
        return {int(o.split()[0].lstrip("#")) for o in at.multiselect(key="compare.runs").options}

    assert offered() == {*trials, plain}
    at.selectbox(key="compare.sweep").set_value(sweep).run()
    assert offered() == set(trials) and set(at.multiselect(key="compare.runs").value) <= set(trials)
    assert at.query_params.get("sweep") in (str(sweep), [str(sweep)])  # kept in the address
    at.selectbox(key="compare.sweep").set_value("none").run()
    assert not at.exception and offered() == {plain}
    at.selectbox(key="compare.sweep").set_value("all").run()
    assert offered() == {*trials, plain} and "sweep" not in at.query_params
    # a link (Home's "Compare sweep #N") opens Compare on that sweep
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.query_params["sweep"] = str(sweep)
    at.run()
    assert at.selectbox(key="compare.sweep").value == sweep and offered() == set(trials)
