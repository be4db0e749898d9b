"""What producing a synthetic set costs, in forward-FLOP units of the method's network (an estimate, for the Compare
page and the report; the measured cost is the run's wall time).

With f = forward FLOPs per image (fvcore), K classes, N training images, 3f per trained image (``TRAIN_FACTOR``):

    dm, am   per iteration  f · K · (batch_real + 2 · IPC)     real forward 1×; synthetic forward + backward to the
                                                                 images 2× (no weight gradients: the net is random)
    pad      set-up         3f · N · (score_models · score_epochs + experts · trajectory_epochs)
             per iteration  6f · syn_steps · batch_syn          a student step 3×, doubled by the backward through
                                                                 the unrolled steps (second order)
    herding  set-up         3f · min(N, feature_train_size) · feature_epochs + f · N   (train the features, embed all)
    random   0
"""

from __future__ import annotations

from dataclasses import dataclass

from ..flops import TRAIN_FACTOR
from . import method_config


@dataclass(frozen=True)
class DistillCost:
    setup: float  # FLOPs before the first iteration (PAD's scores and experts, herding's features)
    per_iteration: float
    iterations: int
    formula: str  # the estimate in words

    @property
    def total(self) -> float:
        return self.setup + self.per_iteration * self.iterations


def distillation_flops(
    method: str, options: dict, forward_flops: float, num_classes: int, train_size: int, iterations: int
) -> DistillCost:
    """The estimated FLOPs of distilling with ``method`` (its config from ``options``, defaults filled in)."""
    cfg = method_config(method, dict(options))
    f, k, n = float(forward_flops), num_classes, train_size
    if method in ("dm", "am"):
        per = f * k * (cfg.batch_real + 2 * cfg.ipc)
        return DistillCost(0.0, per, iterations, f"{k} classes × ({cfg.batch_real} real + 2 × {cfg.ipc} synthetic)")
    if method == "pad":
        batch = cfg.batch_syn or k * cfg.ipc
        trained = cfg.score_models * cfg.score_epochs + cfg.experts * cfg.trajectory_epochs
        setup = TRAIN_FACTOR * f * n * trained
        per = 2 * TRAIN_FACTOR * f * cfg.syn_steps * batch
        words = f"{trained} epochs of scores + experts on {n:,} images; {cfg.syn_steps} unrolled steps × {batch}"
        return DistillCost(setup, per, iterations, words)
    if method == "herding":
        subset = min(n, cfg.feature_train_size or n)
        setup = TRAIN_FACTOR * f * subset * cfg.feature_epochs + f * n
        return DistillCost(setup, 0.0, 0, f"{cfg.feature_epochs} epochs of features on {subset:,} images; embed {n:,}")
    return DistillCost(0.0, 0.0, 0, "no computation (a random draw)")
