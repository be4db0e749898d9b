"""A sweep's results, read from the store: each trial's newest run with the accuracies of its LAST evaluation."""

from __future__ import annotations

from ..runs.store import RunStore
from ..runs.sweeps import trial_runs
from .trials import Trial


def last_eval(evals: list[dict]) -> dict | None:
    """The evaluation at the highest iteration (the first net's, when several were evaluated there)."""
    if not evals:
        return None
    top = max((e.get("iteration") or 0) for e in evals)
    return next(e for e in evals if (e.get("iteration") or 0) == top)


def trial_result(store: RunStore, trial: Trial, run: dict | None) -> dict:
    """``{"trial", "run_id", "method", "params", "seed", "status", "acc_mean", "random_acc_mean", "random_acc_std",
    "random_subsets", "net", "seconds", "error"}`` (a trial never run: status ``queued``, run_id None); the
    reference's std is over its own random subsets."""
    out = {"trial": trial.index, "run_id": None, "method": trial.method, "params": trial.params, "seed": trial.seed}
    out.update(status="queued", acc_mean=None, random_acc_mean=None, random_acc_std=None, random_subsets=None)
    out.update(net=None, seconds=None, error=None)
    if run is None:
        return out
    last = last_eval(store.evals(run["id"]))
    end = run.get("finished_at") or run.get("heartbeat")
    out.update(
        run_id=run["id"],
        status=run["status"],
        error=run.get("error"),
        seconds=(end - run["started_at"]) if run.get("started_at") and end else None,
    )
    if last is not None:
        out.update({k: last.get(k) for k in ("acc_mean", "random_acc_mean", "random_acc_std", "net")})
        out["random_subsets"] = last.get("random_subsets") or None
    return out


def sweep_results(store: RunStore, sweep_id: int, trials: list[Trial]) -> list[dict]:
    runs = trial_runs(store, sweep_id)
    return [trial_result(store, t, runs.get(t.index)) for t in trials]


def best_of(results: list[dict]) -> dict | None:
    """The finished trial with the highest last accuracy, or None."""
    scored = [r for r in results if r["status"] == "done" and r["acc_mean"] is not None]
    return max(scored, key=lambda r: r["acc_mean"], default=None)
