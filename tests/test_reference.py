"""The random-real reference (dd_core/reference.py): computed with exactly the run's evaluation settings, cached in
the run store, reused, and reported as gain = acc − random acc; the whole-dataset reference chosen at read time."""

from __future__ import annotations

import pytest

from dd_core import reference as ref_mod
from dd_core.config import EvalConfig
from dd_core.reference import References, random_reference, reference_key, reference_settings
from dd_core.runs.references import best_baseline, gap_closed, run_evals_with_references
from tests.helpers import last_json, run_cli

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = EvalConfig(protocol="custom", epochs=2, n_models=1, dsa=False)


def count_evaluations(monkeypatch) -> list[int]:
    calls: list[int] = []
    real_eval = ref_mod.evaluate_synthetic

    def counting(*a, **kw):
        calls.append(1)
        return real_eval(*a, **kw)

    monkeypatch.setattr(ref_mod, "evaluate_synthetic", counting)
    return calls


def test_key_changes_with_every_evaluation_setting(tiny_fashion):
    dev = tiny_fashion.train_images.device
    base = reference_key(reference_settings("fashion-mnist", {}, 1, "convnet-3", TINY, dev, 3))
    assert base == reference_key(reference_settings("fashion-mnist", {}, 1, "convnet-3", TINY, dev, 3))
    other_epochs = EvalConfig(protocol="custom", epochs=3, n_models=1, dsa=False)
    variants = [
        reference_settings("fashion-mnist", {}, 1, "convnet-3", other_epochs, dev, 3),
        reference_settings("fashion-mnist", {}, 1, "lenet", TINY, dev, 3),
        reference_settings("fashion-mnist", {}, 2, "convnet-3", TINY, dev, 3),
        reference_settings("fashion-mnist", {"image_size": 32}, 1, "convnet-3", TINY, dev, 3),
        reference_settings("fashion-mnist", {}, 1, "convnet-3", TINY, dev, 2),
    ]
    assert len({base, *map(reference_key, variants)}) == 1 + len(variants)


def test_cache_is_reused_and_keyed_by_settings(tiny_fashion, store, monkeypatch):
    calls = count_evaluations(monkeypatch)
    first = random_reference(tiny_fashion, 1, "convnet-3", TINY, cache=store, subsets=2)
    assert len(calls) == 2 and not first["reference_cached"]
    assert first["random_subsets"] == 2 and len(first["random_accs"]) == 2
    assert 0.0 <= first["random_acc_mean"] <= 1.0
    again = random_reference(tiny_fashion, 1, "convnet-3", TINY, cache=store, subsets=2)
    assert len(calls) == 2 and again["reference_cached"]  # no net trained the second time
    assert again["random_acc_mean"] == first["random_acc_mean"]
    random_reference(
        tiny_fashion,
        1,
        "convnet-3",
        EvalConfig(protocol="custom", epochs=3, n_models=1, dsa=False),
        cache=store,
        subsets=2,
    )
    assert len(calls) == 4  # other epochs: another entry


def test_an_impossible_reference_is_a_message_not_a_failure(tiny_fashion):
    refs = References(tiny_fashion, 10_000, TINY)
    rec = refs.attach({"net": "convnet-3", "acc_mean": 0.5})
    assert rec["random_acc_mean"] is None and rec["gain_over_random"] is None
    assert "IPC 10000" in rec["reference_error"] and rec["acc_mean"] == 0.5
    off = References(tiny_fashion, 1, TINY, enabled=False).attach({"net": "convnet-3", "acc_mean": 0.5})
    assert off["random_acc_mean"] is None and "turned off" in off["reference_error"]


def test_gap_closed_and_the_most_complete_baseline():
    assert gap_closed(0.8, 0.5, 0.9) == pytest.approx(0.75)
    assert gap_closed(0.8, 0.5, 0.4) is None and gap_closed(0.8, None, 0.9) is None
    bases = [
        {"run_id": 1, "net": "convnet-3", "epochs": 20, "acc": 0.9, "created_at": 1, "dataset_options": {}},
        {"run_id": 2, "net": "convnet-3", "epochs": 2, "acc": 0.8, "created_at": 2, "dataset_options": {}},
        {"run_id": 3, "net": "lenet", "epochs": 30, "acc": 0.7, "created_at": 3, "dataset_options": {}},
    ]
    assert best_baseline(bases, "convnet-3")["run_id"] == 1  # most epochs wins over newest
    assert best_baseline(bases, "convnet-3", {"image_size": 32}) is None


def test_distill_json_carries_the_reference(tiny_fashion, store, capsys):
    args = [
        "distill",
        "--method",
        "dm",
        "--dataset",
        "fashion-mnist",
        "--ipc",
        "1",
        "--iterations",
        "2",
        "--eval-epochs",
        "2",
        "--eval-models",
        "1",
        "--option",
        "batch_real=8",
        "--json",
    ]
    code, out, _ = run_cli(capsys, *args)
    assert code == 0
    (ev,) = last_json(out)["evals"]
    for key in ("random_acc_mean", "random_acc_std", "gain_over_random", "gap_closed"):
        assert key in ev
    assert ev["gain_over_random"] == ev["acc_mean"] - ev["random_acc_mean"]
    summary = out.strip().splitlines()[-2]  # the summary line before the JSON
    assert "random real" in summary and "points" in summary
    run = store.list_runs(kind="distill")[0]
    (stored,) = run_evals_with_references(store, run)
    assert stored["random_acc_mean"] == ev["random_acc_mean"]
    code, out, _ = run_cli(capsys, *args, "--no-reference")
    assert code == 0
    (ev2,) = last_json(out)["evals"]
    assert ev2["random_acc_mean"] is None and ev2["gain_over_random"] is None
