"""``python -m dd_core report --sweep ID`` on a sweep built in the store (no Ray, nothing trained): the sweep's spec
and Table 1 above the usual report of its trial runs; the driver's own row and other runs left out; an unknown sweep
and ``--sweep`` with ``--runs`` refused in one line. ``runs --sweep ID`` lists that sweep's runs."""

from __future__ import annotations

import pytest

from dd_core.config import EvalConfig
from dd_core.runs.sweeps import create_sweep, set_sweep_status
from dd_core.runs.worker import create_run_for
from dd_core.spec import RunConfig
from dd_core.sweeps.trials import Trial, sweep_spec
from tests.helpers import last_json, run_cli

ACCS = {("dm", 1, 0): 0.52, ("dm", 1, 1): 0.56, ("dm", 2, 0): 0.61, ("dm", 2, 1): None, ("random", 1, 0): 0.31}
ACCS |= {("random", 1, 1): 0.33, ("random", 2, 0): 0.40, ("random", 2, 1): 0.42}


def trial_config(method: str, ipc: int, seed: int) -> dict:
    return RunConfig(
        kind="distill",
        dataset="fashion-mnist",
        method=method,
        method_options={"ipc": ipc, "seed": seed},
        iterations=4 if method == "dm" else 0,
        eval_at=[4 if method == "dm" else 0],
        eval=EvalConfig(protocol="custom", epochs=2, n_models=2).to_dict(),
    ).to_dict()


def make_sweep(store) -> tuple[int, dict[tuple, int]]:
    """dm,random × ipc=1,2 × seeds 0,1 recorded as the driver would: dm ipc=2 seed 1 failed. Returns (sweep id,
    {(method, ipc, seed): run id})."""
    trials = [
        Trial(i, m, {"ipc": ipc}, seed, trial_config(m, ipc, seed))
        for i, (m, ipc, seed) in enumerate((m, ipc, s) for m in ("dm", "random") for ipc in (1, 2) for s in (0, 1))
    ]
    sweep = create_sweep(store, sweep_spec(trials, {"dataset": "fashion-mnist"}))
    runs = {}
    for t in trials:
        cfg = RunConfig.from_dict({**t.config, "label": t.label(sweep)})
        rid = create_run_for(store, cfg, status="running", source="cli", device="ray", sweep_id=sweep, trial=t.index)
        acc = ACCS[(t.method, t.params["ipc"], t.seed)]
        if acc is None:
            store.set_status(rid, "failed", error="RuntimeError: the node went away")
        else:
            it = cfg.eval_at[0]
            rand = {"random_acc_mean": 0.30 + 0.1 * (t.params["ipc"] - 1), "random_acc_std": 0.004, "random_subsets": 3}
            record = {"iteration": it, "net": "convnet-2", "acc_mean": acc, "acc_std": 0.01, "n_models": 2}
            store.add_eval(rid, {**record, "epochs": 2, "protocol": "custom", **rand})  # one reference per IPC
            store.set_status(rid, "done", summary={"iterations": it, "seconds": 1.0})
        runs[(t.method, t.params["ipc"], t.seed)] = rid
    set_sweep_status(store, sweep, "done")
    return sweep, runs


def test_report_of_a_sweep_has_its_spec_and_table1_above_its_trial_runs(store, capsys, tmp_path):
    other = store.create_run("distill", trial_config("dm", 1, 0), method="dm", dataset="fashion-mnist", ipc=1)
    sweep, runs = make_sweep(store)
    out = tmp_path / "sweep.html"
    code, stdout, err = run_cli(capsys, "report", "--sweep", str(sweep), "--out", str(out), "--json")
    assert code == 0, err
    rec = last_json(stdout)
    assert rec["runs"] == sorted(runs.values()) and other not in rec["runs"]
    assert f"report of sweep #{sweep}: 8 runs" in stdout
    s = rec["sweep"]
    assert s["id"] == sweep and s["status"] == "done" and s["methods"] == ["dm", "random"]
    assert s["grid"] == {"ipc": [1, 2]} and s["seeds"] == [0, 1] and s["counts"] == {"done": 7, "failed": 1}
    cells = {(c["method"], c["ipc"]): c for c in s["table"]["cells"]}
    assert cells[("dm", 1)]["acc_mean"] == pytest.approx(0.54) and cells[("dm", 1)]["acc_std"] == pytest.approx(0.02)
    assert cells[("dm", 2)]["n_seeds"] == 1 and cells[("dm", 2)]["n_expected"] == 2
    text = out.read_text()
    head, _, rest = text.partition("<h2>Runs</h2>")
    assert f"DistillLab report · sweep #{sweep}" in head and f"<h2>Sweep #{sweep}</h2>" in head
    assert "Table 1 · methods × IPC" in head
    assert "<td>ipc = 1, 2</td>" in head and "<td>8 (7 done, 1 failed)</td>" in head
    assert "<td>54.00 ± 2.00 · 2 seeds</td>" in head and "<td>30.00 ± 0.40 · 3 subsets</td>" in head  # DM at IPC 1
    assert "<td>61.00 · 1 of 2 seeds</td>" in head  # DM at IPC 2: its seed 1 failed
    assert "<td>random real</td>" in head  # the random method: a row of its own
    # each method's best configuration by gain over random real: DM at IPC 1 (+24 points beats IPC 2's +21)
    best_dm = "DM ipc=1: 54.00 ± 2.00 % over 2 seeds, random real 30.00 % (+24.00 points) (best seed 1: run #"
    assert best_dm + f"{runs[('dm', 1, 1)]})" in head
    assert f"#{runs[('dm', 2, 1)]} DM · IPC 2" in rest and "This run is failed" in rest  # the usual run sections


def test_figures_of_a_sweep_include_its_table1_as_markdown_and_csv(store, capsys, tmp_path):
    import csv

    sweep, _ = make_sweep(store)
    figures = tmp_path / "fig"
    code, stdout, err = run_cli(
        capsys, "report", "--sweep", str(sweep), "--out", str(tmp_path / "r.html"), "--figures", str(figures), "--json"
    )
    assert code == 0, err
    written = last_json(stdout)["figures"]
    assert str(figures / f"sweep-{sweep}-table1.md") in written and any(w.endswith(".png") for w in written)
    md = (figures / f"sweep-{sweep}-table1.md").read_text().splitlines()
    assert md[0].startswith("| method | IPC 1 (%) | IPC 1 random real (%) | IPC 2 (%)")
    assert md[2].startswith("| dm | 54.00 ± 2.00 · 2 seeds | 30.00 ± 0.40 · 3 subsets | 61.00 · 1 of 2 seeds |")
    with open(figures / f"sweep-{sweep}-table1.csv", newline="") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    assert rows["dm"]["IPC 1 acc (%)"] == "54.0" and rows["dm"]["IPC 2 seeds"] == "1"
    assert rows["random"]["IPC 2 acc (%)"] == "41.0"


def test_the_driver_row_and_other_kinds_are_no_trial_runs(store, capsys, tmp_path):
    sweep, runs = make_sweep(store)
    base = store.create_run("baseline", {}, dataset="fashion-mnist", status="queued", sweep_id=sweep)  # no trial
    code, stdout, err = run_cli(capsys, "report", "--sweep", str(sweep), "--out", str(tmp_path / "r.html"), "--json")
    assert code == 0, err
    assert base not in last_json(stdout)["runs"] and len(last_json(stdout)["runs"]) == 8


def test_an_unknown_sweep_and_sweep_with_runs_are_refused(store, capsys, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--sweep", "41", "--out", str(out))
    assert code == 2 and "--sweep: no sweep #41 in the run store" in err and str(store.path) in err
    sweep = create_sweep(store, sweep_spec([], {}))
    code, _, err = run_cli(capsys, "report", "--sweep", str(sweep), "--out", str(out))
    assert code == 2 and f"sweep #{sweep} has no trial run to report yet" in err
    code, _, err = run_cli(capsys, "report", "--sweep", str(sweep), "--runs", "1", "--out", str(out))
    assert code == 2 and "--sweep" in err and "leave out --runs" in err
    assert not out.exists()


def test_runs_lists_one_sweeps_runs(store, capsys):
    sweep, runs = make_sweep(store)
    plain = store.create_run("distill", {}, status="queued")
    code, out, _ = run_cli(capsys, "runs", "--sweep", str(sweep), "--json")
    assert code == 0
    listed = last_json(out)["runs"]
    assert sorted(r["id"] for r in listed) == sorted(runs.values()) and plain not in {r["id"] for r in listed}
    assert {r["trial"] for r in listed} == set(range(8)) and f"8 runs of sweep #{sweep}" in out
    code, out, _ = run_cli(capsys, "runs", "--limit", "3", "--json")
    assert len(last_json(out)["runs"]) == 3
    code, _, err = run_cli(capsys, "runs", "--sweep", "99")
    assert code == 2 and "--sweep 99: no sweep #99 in the run store" in err
