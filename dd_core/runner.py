"""``run_distillation``: drives any method and emits events; the CLI, the worker and the tests all go through it.

Events (plain dicts, ``type`` first):
    {"type": "status",   "status": "running" | "done" | "cancelled", "iteration": int}
    {"type": "step",     "iteration": n, "metrics": {...}, "seconds": distill seconds so far, "it_per_s": float}
    {"type": "snapshot", "iteration": n, "synthetic": SyntheticSet}            (≈ 50 per run, plus first and last)
    {"type": "eval",     "iteration": n, "net", "acc_mean", "acc_std", "n_models", "epochs", "accs", "protocol", ...}
    {"type": "progress", "phase": "eval", ...}                                 (evaluation training, per epoch)
Iteration n always means "after n updates": the evaluation at 0 is of the initial set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .config import EvalConfig, check_schedule
from .evaluate import Stopped
from .events import EventFn, StopFn
from .methods.base import Method
from .reference import References, evaluate_against_random

SNAPSHOTS_PER_RUN = 50


def run_distillation(
    method: Method,
    iterations: int,
    *,
    eval_at: Sequence[int] = (),
    eval_nets: list[str] | None = None,
    eval_cfg: EvalConfig | None = None,
    on_event: EventFn | None = None,
    should_stop: StopFn | None = None,
    snapshot_every: int | None = None,
    eval_seed: int = 0,
    references: References | None = None,
) -> dict:
    """Run ``iterations`` updates of ``method`` (coresets: none), evaluating at ``eval_at``.

    Stops cooperatively when ``should_stop()`` is true (checked every iteration and every evaluation epoch); the
    synthetic set then is the last complete one, with its true iteration count. ``references`` puts the random-real
    reference beside each evaluation (``dd_core/reference.py``). Returns a summary dict.
    """
    emit = on_event or (lambda e: None)
    stop = should_stop or (lambda: False)
    if not method.iterative:
        iterations, eval_at = 0, [0] if eval_at or eval_nets else []
    eval_at = check_schedule(iterations, list(eval_at))
    eval_cfg = eval_cfg or EvalConfig()
    nets = eval_nets or [method.net_name]
    every = snapshot_every or max(1, iterations // SNAPSHOTS_PER_RUN)
    evals: list[dict] = []
    seconds, metrics, stopped = 0.0, {}, False

    def evaluate(n: int) -> None:
        syn = method.synthetic
        records = evaluate_against_random(
            syn.images,
            syn.labels,
            method.real,
            nets,
            eval_cfg,
            references,
            soft_labels=syn.soft_labels,
            lr=syn.lr,
            seed=eval_seed,
            on_progress=lambda p: emit({"type": "progress", "iteration": n, **p}),
            should_stop=stop,
        )
        for r in records:
            r = {"iteration": n, **r}
            evals.append(r)
            emit({"type": "eval", **r})

    emit({"type": "status", "status": "running", "iteration": 0})
    emit({"type": "snapshot", "iteration": 0, "synthetic": method.synthetic.detached()})
    try:
        if 0 in eval_at:
            evaluate(0)
        for it in range(iterations):
            if stop():
                raise Stopped()
            t0 = time.perf_counter()
            metrics = method.step(it)
            seconds += time.perf_counter() - t0
            n = it + 1
            emit({"type": "step", "iteration": n, "metrics": metrics, "seconds": seconds, "it_per_s": n / seconds})
            if n % every == 0 or n == iterations:
                emit({"type": "snapshot", "iteration": n, "synthetic": method.synthetic.detached()})
            if n in eval_at:
                evaluate(n)
    except Stopped:
        stopped = True
        done = method.iteration
        if done % every != 0 and done != iterations:  # the last complete set is always kept
            emit({"type": "snapshot", "iteration": done, "synthetic": method.synthetic.detached()})
    done = method.iteration
    emit({"type": "status", "status": "cancelled" if stopped else "done", "iteration": done})
    return {
        "iterations": done,
        "iterations_requested": iterations,
        "stopped": stopped,
        "seconds_distill": seconds,
        "seconds_per_iteration": seconds / done if done else None,
        "final_metrics": metrics,
        "evals": evals,
        "eval_config": eval_cfg.to_dict(),
        "eval_nets": nets,
    }


def last_and_best(evals: list[dict]) -> list[dict]:
    """Per evaluation net: the LAST evaluated checkpoint (what DistillLab reports) and, beside it, the BEST over the
    evaluated checkpoints (what many papers report; optimistic, since the checkpoint is picked on the test set).
    ``[{"net", "last": {iteration, acc_mean, acc_std}, "best": {...}, "checkpoints": n}]``."""
    out = []
    for net in dict.fromkeys(e["net"] for e in evals):
        mine = sorted((e for e in evals if e["net"] == net), key=lambda e: e["iteration"])
        pick = lambda e: {k: e[k] for k in ("iteration", "acc_mean", "acc_std")}  # noqa: E731
        best = max(mine, key=lambda e: (e["acc_mean"], -e["iteration"]))
        out.append({"net": net, "last": pick(mine[-1]), "best": pick(best), "checkpoints": len(mine)})
    return out
