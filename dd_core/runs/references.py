"""The references an evaluation is read against, chosen in one place for the Distill headline, Compare, the report
and ``runs --json``:

* random real: K random real images per class under the same evaluation (computed by the job, cached in the
  store: ``dd_core/reference.py``); it is already in each eval record (``random_acc_mean`` ...);
* the whole dataset: the most complete finished whole-dataset baseline for that dataset and net (most epochs, then
  the newest), chosen at read time so that a baseline trained later is picked up; with it the share of the gap
  closed, (acc − random) / (whole − random).
"""

from __future__ import annotations

from .store import RunStore


def whole_baselines(store: RunStore, dataset: str) -> list[dict]:
    """Finished whole-dataset baselines of ``dataset``: ``[{"run_id","net","epochs","acc","seconds","created_at",
    "dataset_options"}]``, newest first."""
    out = []
    for run in store.list_runs(kind="baseline", status="done", dataset=dataset, limit=None):
        s = run.get("summary") or {}
        net = s.get("net") or (run["config"].get("baseline") or {}).get("net")
        if s.get("test_acc") is None or not net:
            continue
        out.append(
            {
                "run_id": run["id"],
                "net": net,
                "epochs": s.get("epochs"),
                "acc": float(s["test_acc"]),
                "seconds": s.get("seconds"),
                "created_at": run["created_at"],
                "dataset_options": run["config"].get("dataset_options") or {},
            }
        )
    return out


def best_baseline(baselines: list[dict], net: str, dataset_options: dict | None = None) -> dict | None:
    """The most complete baseline for ``net`` (most epochs, then newest) among ``whole_baselines(...)``, trained on
    the same dataset options (image size, channels, path) as the run it is compared with."""
    opts = dataset_options or {}
    mine = [b for b in baselines if b["net"] == net and (b["dataset_options"] or {}) == opts]
    return max(mine, key=lambda b: (b["epochs"] or 0, b["created_at"]), default=None)


def gap_closed(acc: float | None, random_acc: float | None, whole_acc: float | None) -> float | None:
    """(acc − random) / (whole − random); None when a number is missing or the baseline does not beat random."""
    if acc is None or random_acc is None or whole_acc is None or whole_acc <= random_acc:
        return None
    return (acc - random_acc) / (whole_acc - random_acc)


def with_whole_reference(evals: list[dict], baselines: list[dict], dataset_options: dict | None = None) -> list[dict]:
    """Copies of ``evals`` with ``whole_acc``, ``whole_epochs``, ``whole_run_id`` and ``gap_closed`` (None when no
    baseline exists for that net); ``gain_over_random`` is filled from the random reference when missing."""
    out = []
    for e in evals:
        e = dict(e)
        base = best_baseline(baselines, e.get("net") or "", dataset_options)
        rand = e.get("random_acc_mean")
        if e.get("gain_over_random") is None:
            e["gain_over_random"] = None if rand is None or e.get("acc_mean") is None else e["acc_mean"] - rand
        e["whole_acc"] = base["acc"] if base else None
        e["whole_epochs"] = base["epochs"] if base else None
        e["whole_run_id"] = base["run_id"] if base else None
        e["gap_closed"] = gap_closed(e.get("acc_mean"), rand, e["whole_acc"])
        out.append(e)
    return out


def run_evals_with_references(
    store: RunStore, run: dict, evals: list[dict] | None = None, baselines: list[dict] | None = None
) -> list[dict]:
    """The evaluations of ``run`` (or the given ones) with the whole-dataset reference attached; ``baselines``:
    ``whole_baselines(store, run["dataset"])`` when the caller already read them (a listing of many runs)."""
    evals = store.evals(run["id"]) if evals is None else evals
    if not evals or not run.get("dataset"):
        return [dict(e) for e in evals]
    options = (run.get("config") or {}).get("dataset_options") or {}
    if baselines is None:
        baselines = whole_baselines(store, run["dataset"])
    return with_whole_reference(evals, baselines, options)
