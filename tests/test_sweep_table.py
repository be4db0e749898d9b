"""A sweep's Table 1 and heatmaps (``dd_core.sweeps.table``) on hand-built result lists: the mean ± std over seeds
with the random-real reference beside it, the best configuration where other grid keys vary, missing seeds and cells,
the random row, the exports."""

from __future__ import annotations

import pytest

from dd_core.errors import ConfigError
from dd_core.sweeps import table as tb
from dd_core.sweeps.trials import Trial


def result(i, method, params, seed, acc=None, rand=None, status="done", **extra):
    """One entry as ``sweep_results`` returns it."""
    return {
        "trial": i,
        "run_id": 100 + i,
        "method": method,
        "params": params,
        "seed": seed,
        "status": status if acc is not None or status != "done" else "failed",
        "acc_mean": acc,
        "random_acc_mean": rand,
        "net": "convnet-3",
        "seconds": 1.0,
        "error": None,
        **extra,
    }


def dm_random_sweep() -> list[dict]:
    """dm × ipc=1,10 × lr_img=0.1,1 × seeds 0,1 and random × ipc=1,10 × seeds 0,1; dm ipc=10 lr_img=1 seed 1 failed."""
    out: list[dict] = []
    accs = {  # (ipc, lr_img) -> accuracies of seeds 0, 1
        (1, 0.1): (0.50, 0.54),
        (1, 1.0): (0.60, 0.64),  # the best at IPC 1
        (10, 0.1): (0.80, 0.84),  # the best at IPC 10 (lr_img=1 has only seed 0: 0.81)
        (10, 1.0): (0.81, None),
    }
    for (ipc, lr), pair in accs.items():
        for seed, acc in enumerate(pair):
            out.append(
                result(len(out), "dm", {"ipc": ipc, "lr_img": lr}, seed, acc, 0.30 + 0.1 * (ipc == 10) + seed / 100)
            )
    for ipc in (1, 10):
        for seed in (0, 1):
            rand = 0.30 + 0.1 * (ipc == 10) + seed / 100
            out.append(result(len(out), "random", {"ipc": ipc}, seed, rand, rand))
    return out


def test_table1_cells_are_mean_and_std_over_seeds_with_random_real_beside():
    t = tb.table1(dm_random_sweep())
    assert t.methods == ["dm", "random"] and t.ipcs == [1, 10] and t.keys == ["lr_img"]
    c = t.cell("dm", 1)
    assert c.config == {"lr_img": 1.0} and c.n == c.n_expected == 2
    assert c.acc == pytest.approx((0.62, 0.02))  # population std over the two seeds
    assert c.random == pytest.approx((0.305, 0.005)) and c.gain == pytest.approx(0.315)
    assert c.run_ids == [102, 103]
    rand = t.cell("random", 10)  # a row of its own
    assert rand.config == {} and rand.acc == pytest.approx((0.405, 0.005))
    d = t.to_dict()
    assert {(x["method"], x["ipc"]) for x in d["cells"]} == {("dm", 1), ("dm", 10), ("random", 1), ("random", 10)}


def test_trials_sharing_one_reference_show_its_spread_over_its_subsets_not_a_zero_over_seeds():
    ref = {"random_acc_std": 0.012, "random_subsets": 3}
    results = [result(i, "dm", {"ipc": 10}, i, 0.80 + i / 100, 0.765, **ref) for i in range(3)]
    c = tb.table1(results).cell("dm", 10)
    assert c.random == pytest.approx((0.765, 0.012)) and c.random_spread == "3 subsets"
    assert tb.random_cell(c) == "76.50 ± 1.20 · 3 subsets"
    row = tb.table_rows(tb.table1(results), numeric=True)[0]
    assert row["IPC 10 random real (%)"] == 76.5 and row["IPC 10 random real std (%)"] == 1.2
    old = [result(i, "dm", {"ipc": 10}, i, 0.80, 0.765) for i in range(2)]  # a store from before the std was read
    assert tb.random_cell(tb.table1(old).cell("dm", 10)) == "76.50"


def test_the_best_configuration_wins_by_its_mean_and_is_named():
    t = tb.table1(dm_random_sweep())
    c = t.cell("dm", 10)
    # lr_img=0.1 (mean 0.82 over 2 seeds) beats lr_img=1 (0.81 over its one finished seed)
    assert c.config == {"lr_img": 0.1} and c.acc[0] == pytest.approx(0.82)
    rows = {r["method"]: r for r in tb.table_rows(t)}
    assert rows["dm"]["IPC 10 best config"] == "lr_img=0.1" and rows["dm"]["IPC 1 best config"] == "lr_img=1.0"
    assert rows["dm"]["IPC 1 (%)"] == "62.00 ± 2.00 · 2 seeds"
    assert rows["dm"]["IPC 1 random real (%)"] == "30.50 ± 0.50 · 2 references"  # these trials' references differ
    assert rows["random"]["IPC 1 best config"] == ""  # nothing varies for random
    # the better single seed does not hide behind a worse mean: lr_img=1 at IPC 10 gets 0.9 on its one seed
    results = dm_random_sweep()
    next(r for r in results if r["params"] == {"ipc": 10, "lr_img": 1.0} and r["seed"] == 0)["acc_mean"] = 0.9
    c = tb.table1(results).cell("dm", 10)
    assert c.config == {"lr_img": 1.0} and c.n == 1 and c.n_expected == 2
    assert tb.acc_cell(c) == "90.00 · 1 of 2 seeds"


def test_missing_seeds_and_cells_say_so():
    results = [
        result(0, "dm", {"ipc": 1}, 0, 0.5, 0.3),
        result(1, "dm", {"ipc": 1}, 1, status="running"),
        result(2, "dm", {"ipc": 1}, 2, status="failed"),
        result(3, "dm", {"ipc": 50}, 0, status="queued"),
        result(4, "dm", {"ipc": 50}, 1, status="cancelled"),
        result(5, "am", {"ipc": 1}, 0, 0.6, None),  # no random-real reference measured
    ]
    t = tb.table1(results)
    assert t.keys == [] and t.ipcs == [1, 50]
    assert tb.acc_cell(t.cell("dm", 1)) == "50.00 · 1 of 3 seeds"
    assert tb.acc_cell(t.cell("dm", 50)) == "no finished trial (0 of 2 seeds)"
    assert t.cell("am", 50) is None and tb.acc_cell(None) == "—"  # am has no trial at IPC 50
    assert tb.random_cell(t.cell("am", 1)) == "—" and t.cell("am", 1).gain is None
    rows = {r["method"]: r for r in tb.table_rows(t)}
    assert rows["am"]["IPC 50 (%)"] == "—" and "IPC 1 best config" not in rows["am"]  # no key varies
    num = {r["method"]: r for r in tb.table_rows(t, numeric=True)}
    assert num["dm"]["IPC 1 acc (%)"] == 50.0 and num["dm"]["IPC 1 std (%)"] == 0.0
    assert num["dm"]["IPC 1 seeds"] == 1 and num["dm"]["IPC 1 of seeds"] == 3
    assert num["dm"]["IPC 50 acc (%)"] is None and num["am"]["IPC 50 seeds"] is None
    assert tb.table_rows(tb.table1([])) == [] and tb.markdown(tb.table1([])) == "_No trial._\n"


def test_markdown_and_the_ipc_of_trials_without_an_ipc_axis():
    trials = [
        Trial(0, "dm", {"lr_img": 0.1}, 0, {"method_options": {"ipc": 10}}),
        Trial(1, "dm", {"lr_img": 1}, 0, {"method_options": {"ipc": 10}}),
    ]
    results = [result(0, "dm", {"lr_img": 0.1}, 0, 0.7, 0.4), result(1, "dm", {"lr_img": 1}, 0, 0.75, 0.4)]
    t = tb.table1(tb.attach_ipc(results, trials))
    assert t.ipcs == [10] and t.cell("dm", 10).config == {"lr_img": 1}
    md = tb.markdown(t).splitlines()
    assert md[0] == "| method | IPC 10 (%) | IPC 10 random real (%) | IPC 10 best config |"
    assert md[2] == "| dm | 75.00 · 1 seed | 40.00 | lr_img=1 |"
    assert "best configuration" in md[-1] and "mean ± std over seeds" in md[-1]


def test_heatmap_of_two_grid_keys_and_the_varying_keys():
    results = dm_random_sweep()
    assert tb.varying_keys(results) == ["ipc", "lr_img"]
    assert tb.varying_keys(results, "random") == ["ipc"]
    h = tb.heatmap(results, "dm", "lr_img", "ipc")
    assert h.x == [0.1, 1.0] and h.y == [1, 10]
    assert h.acc[0] == pytest.approx([0.52, 0.62]) and h.acc[1] == pytest.approx([0.82, 0.81])
    assert h.n == [[2, 2], [2, 1]] and h.config == [["", ""], ["", ""]]
    assert h.gain[0][0] == pytest.approx(0.52 - 0.305)
    # a third key: each cell is its best configuration, named
    three = [r | {"params": {**r["params"], "batch_real": b}} for r in results if r["method"] == "dm" for b in (8, 16)]
    for r in three:
        if r["params"]["batch_real"] == 16 and r["acc_mean"] is not None:
            r["acc_mean"] += 0.01
    h = tb.heatmap(three, "dm", "lr_img", "ipc")
    assert h.acc[0][0] == pytest.approx(0.53) and h.config[0][0] == "batch_real=16"
    # nothing finished: None
    for r in results:
        if r["method"] == "dm" and r["params"]["ipc"] == 1:
            r.update(status="failed", acc_mean=None)
    h = tb.heatmap(results, "dm", "lr_img", "ipc")
    assert h.acc[0] == [None, None] and h.gain[0] == [None, None] and h.n[0] == [0, 0]
    assert h.to_dict()["x_key"] == "lr_img"
    with pytest.raises(ConfigError, match="two different grid keys"):
        tb.heatmap(results, "dm", "ipc", "ipc")
