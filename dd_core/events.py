"""The event contract: what the engine tells its listeners while a job runs.

Events are plain dicts (so they pickle, log and serialise as JSON), typed here once with one ``TypedDict`` per
kind. The runner, the jobs and PAD's experts emit them; the run recorder (``runs/recorder.py``) turns them into
store writes; the CLI's progress printer and the tests read them. ``iteration`` n always means "after n updates":
the evaluation at 0 is of the initial set.

    status    {"status": "running" | "done" | "cancelled", "iteration"}           runner, at start and end
    step      {"iteration", "metrics", "seconds", "it_per_s"}                      runner, after every update
    snapshot  {"iteration", "synthetic": SyntheticSet}                             ≈ 50 per run, plus first and last
    eval      {"iteration", "net", "acc_mean", "acc_std", "accs", "n_models", "epochs", "protocol", ...}
    progress  {"phase": "setup" | "eval" | "reference" | "experts", ...}          start-up, training inside a phase
    epoch     {"epoch", "epochs", "loss", "lr", "test_acc"}                        whole-dataset training
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from typing_extensions import NotRequired

if TYPE_CHECKING:
    from .synthetic import SyntheticSet


class StatusEvent(TypedDict):
    type: Literal["status"]
    status: Literal["running", "done", "cancelled"]
    iteration: int


class StepEvent(TypedDict):
    type: Literal["step"]
    iteration: int
    metrics: dict[str, float]
    seconds: float  # distillation seconds so far (set-up and evaluations excluded)
    it_per_s: float


class SnapshotEvent(TypedDict):
    type: Literal["snapshot"]
    iteration: int
    synthetic: SyntheticSet


class EvalEvent(TypedDict):
    type: Literal["eval"]
    iteration: int | None
    net: str
    acc_mean: float  # fraction in [0, 1]
    acc_std: float
    accs: list[float]
    n_models: int
    epochs: int
    protocol: str


class ProgressEvent(TypedDict):
    """Work inside a phase: ``setup`` (a distillation's start-up, a named ``step``: loading the dataset, building
    the method), ``eval`` (net, model m of n, epoch e of E), ``reference`` (the random-real reference: subset i of
    n, then as ``eval``) or ``experts`` (expert i of n, epoch e of E, or a named
    ``step`` such as the difficulty scores); ``final`` marks a phase's last report."""

    type: Literal["progress"]
    phase: Literal["setup", "eval", "reference", "experts"]
    iteration: NotRequired[int | None]  # the distillation iteration an evaluation belongs to
    epoch: NotRequired[int]
    epochs: NotRequired[int]
    loss: NotRequired[float]
    lr: NotRequired[float]
    test_acc: NotRequired[float | None]
    seconds: NotRequired[float]
    final: NotRequired[bool]
    net: NotRequired[str]  # eval
    model: NotRequired[int]
    n_models: NotRequired[int]
    expert: NotRequired[int]  # experts
    experts: NotRequired[int]
    cached: NotRequired[bool]
    step: NotRequired[str]
    plan: NotRequired[dict]  # setup's final report: evaluations ahead and their estimated seconds (jobs.py)
    subset: NotRequired[int]  # reference: random subset i of n
    subsets: NotRequired[int]
    labels: NotRequired[str]  # eval: "hard" while a set with learned labels is evaluated with hard labels
    train_acc: NotRequired[float]


class EpochEvent(TypedDict):
    type: Literal["epoch"]
    epoch: int
    epochs: int
    loss: NotRequired[float]
    lr: NotRequired[float]
    test_acc: NotRequired[float | None]
    seconds: NotRequired[float]


Event = StatusEvent | StepEvent | SnapshotEvent | EvalEvent | ProgressEvent | EpochEvent
EventFn = Callable[[Any], None]  # receives any Event (Callable is contravariant: a handler of dicts also fits)
StopFn = Callable[[], bool]  # polled between iterations / epochs: True asks the job to stop cooperatively


def thin(rows: list[dict], max_points: int = 1500) -> list[dict]:
    """Every k-th of the recorded metric rows (and always the last), so that a chart of them draws at most about
    ``max_points`` points: the pages' and the report's loss curves."""
    if len(rows) <= max_points:
        return rows
    k = -(-len(rows) // max_points)
    out = rows[::k]
    return out if out[-1] is rows[-1] else [*out, rows[-1]]
