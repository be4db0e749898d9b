"""``python -m dd_core experiment``: the Home page's one-click experiments from the command line, recorded in the same
run store; the list, a dry run, a refused key, and a real (tiny) experiment run end to end."""

from __future__ import annotations

from dd_core import experiments as ex
from dd_core.spec import RunConfig
from tests.app_support import tiny_run
from tests.helpers import last_json, run_cli


def test_list_and_dry_run_show_every_experiment_and_its_runs(capsys):
    code, out, _ = run_cli(capsys, "experiment", "--list", "--json")
    assert code == 0
    keys = [e["key"] for e in last_json(out)["experiments"]]
    assert keys == list(ex.EXPERIMENTS) and "pad-init" in out and "CPU:" in out
    code, out, _ = run_cli(capsys, "experiment", "pad-init", "--budget", "cpu", "--dry-run", "--json")
    assert code == 0 and "dry run: nothing ran" in out
    record = last_json(out)
    assert record["budget"] == "cpu" and [r["method_options"]["init"] for r in record["runs"]] == ["noise", "correct"]
    assert record["runs"][0]["eval_at"] == [0, 40, 80]  # its own budget, not the cpu-demo preset's


def test_an_unknown_experiment_lists_the_valid_ones(capsys):
    code, _, err = run_cli(capsys, "experiment", "nope")
    assert code == 2 and "unknown experiment 'nope'" in err and "pad-init" in err


def test_an_experiment_runs_every_config_recorded_in_the_store(capsys, tiny_fashion, store, monkeypatch):
    def tiny(budget: str = "cpu", dataset: str = "fashion-mnist") -> list[RunConfig]:
        return [tiny_run("dm", iterations=2, epochs=2), tiny_run("random", epochs=2)]

    monkeypatch.setitem(
        ex.EXPERIMENTS, "tiny", ex.Experiment("tiny", "tiny", "a test", tiny, "fashion-mnist", None, "-", "-")
    )
    code, out, _ = run_cli(capsys, "experiment", "tiny", "--json")
    assert code == 0, out
    record = last_json(out)
    assert [r["status"] for r in record["runs"]] == ["done", "done"]
    ids = [r["run_id"] for r in record["runs"]]
    assert [store.get_run(i)["method"] for i in ids] == ["dm", "random"]
    dm = record["runs"][0]["evals"][-1]
    assert (
        dm["random_acc_mean"] is not None
        and abs(dm["gain_over_random"] - (dm["acc_mean"] - dm["random_acc_mean"])) < 1e-12
    )
    assert "random real" in out  # the same summary line as distill
