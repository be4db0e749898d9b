"""The one training loop, and the train-on-synthetic / test-on-real evaluation protocol (docs/algorithms.md §3).

``train_network`` trains any net on any labelled image tensor (a synthetic set or a whole dataset) with SGD and a
``step`` (×0.1 once at E/2: evaluation) or ``cosine`` (over all steps: whole-dataset baseline) schedule, optional
non-siamese DSA and optional soft labels. ``evaluate_synthetic`` runs it for ``n_models`` fresh nets per architecture.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import DSA
from .config import EvalConfig
from .data import RealData
from .device import memory_format, seeded
from .events import EventFn, StopFn
from .nets import build_net


class Stopped(Exception):
    """Raised inside a loop when ``should_stop()`` turned true (cooperative cancel)."""


@dataclass
class TrainSpec:
    """Optimiser and schedule of one training run."""

    epochs: int
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    schedule: str = "step"  # 'step': lr × 0.1 from epoch E//2 on | 'cosine': annealed over all steps | 'constant'
    dsa: DSA | None = None  # non-siamese augmentation of every training batch


@dataclass
class TrainResult:
    test_acc: float | None
    train_loss: float
    seconds: float
    curve: list[dict] = field(default_factory=list)  # per epoch: {"epoch", "loss", "lr", "test_acc"?}
    train_acc: float = 0.0  # last epoch, on the (augmented) training batches


def soft_cross_entropy(logits: Tensor, target_logits: Tensor) -> Tensor:
    """-mean_i Σ_k softmax(target_i)_k · log softmax(logits_i)_k (PAD/DATM soft labels stored as logits)."""
    return -(F.softmax(target_logits, dim=1) * F.log_softmax(logits, dim=1)).sum(1).mean()


@torch.inference_mode()
def test_accuracy(net: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1024) -> float:
    """Top-1 accuracy in [0, 1] in eval mode; restores the previous mode."""
    was_training = net.training
    net.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        correct += (net(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
    net.train(was_training)
    return correct / max(1, len(images))


def _lr_at(spec: TrainSpec, epoch: int, step: int, total_steps: int) -> float:
    if spec.schedule == "cosine":
        return spec.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    if spec.schedule == "step":
        return spec.lr * (0.1 if epoch >= spec.epochs // 2 else 1.0)
    return spec.lr


def train_network(
    net: nn.Module,
    images: Tensor,
    labels: Tensor,
    spec: TrainSpec,
    *,
    soft_labels: Tensor | None = None,
    test: tuple[Tensor, Tensor] | None = None,
    test_every: int = 0,
    on_epoch: EventFn | None = None,
    generator: torch.Generator | None = None,
    should_stop: StopFn | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> TrainResult:
    """Train ``net`` in place on ``images [N,C,H,W]`` / ``labels [N]`` (or ``soft_labels [N,K]`` logits).

    Tests on ``test`` every ``test_every`` epochs (0: only after the last) and reports each epoch to ``on_epoch``.
    ``optimizer`` continues an SGD whose state (momentum) must survive across calls (expert trajectories).
    Raises :class:`Stopped` when ``should_stop()`` becomes true at an epoch boundary.
    """
    start = time.perf_counter()
    opt = optimizer or torch.optim.SGD(
        net.parameters(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
    )
    n = len(images)
    batch = min(spec.batch_size, n)
    steps_per_epoch = math.ceil(n / batch)
    total_steps = spec.epochs * steps_per_epoch
    curve: list[dict] = []
    net.train()
    step, loss_sum, seen, correct, test_acc = 0, 0.0, 0, 0, None
    for epoch in range(spec.epochs):
        if should_stop is not None and should_stop():
            raise Stopped()
        order = torch.randperm(n, generator=generator).to(images.device)
        loss_sum, seen, correct = 0.0, 0, 0
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            x = images.index_select(0, idx)
            if spec.dsa is not None:
                x = spec.dsa(x, generator)
            out = net(x)
            if soft_labels is not None:
                loss = soft_cross_entropy(out, soft_labels.index_select(0, idx))
            else:
                loss = F.cross_entropy(out, labels.index_select(0, idx))
            lr = _lr_at(spec, epoch, step, total_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if soft_labels is None:
                correct += int((out.detach().argmax(1) == labels.index_select(0, idx)).sum())
        point = {"epoch": epoch + 1, "loss": loss_sum / seen, "lr": lr}
        last = epoch + 1 == spec.epochs
        if test is not None and (last or (test_every and (epoch + 1) % test_every == 0)):
            test_acc = test_accuracy(net, *test)
            point["test_acc"] = test_acc
        curve.append(point)
        if on_epoch is not None:
            on_epoch(point)
    return TrainResult(
        test_acc=test_acc,
        train_loss=loss_sum / max(1, seen),
        seconds=time.perf_counter() - start,
        curve=curve,
        train_acc=correct / max(1, seen),
    )


def summarize(accs: list[float]) -> tuple[float, float]:
    """Mean and (population) std of per-model accuracies; std 0 for one model."""
    t = torch.tensor(accs, dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=False)) if len(accs) > 1 else 0.0


def evaluate_synthetic(
    images: Tensor,
    labels: Tensor,
    real: RealData,
    net_names: list[str],
    cfg: EvalConfig,
    *,
    soft_labels: Tensor | None = None,
    lr: float | None = None,
    seed: int = 0,
    on_progress: EventFn | None = None,
    should_stop: StopFn | None = None,
) -> list[dict]:
    """Train ``cfg.n_models`` fresh nets of each architecture on the set, test each on the real test set.

    ``images``/``labels`` live on the device of ``real``. ``lr`` (PAD's learned step size) replaces ``cfg.lr``.
    Returns one record per net: {"net","acc_mean","acc_std","n_models","epochs","accs","protocol","seconds"}.
    """
    meta = real.meta
    device = real.train_images.device
    images, labels = images.to(device), labels.to(device)
    soft = soft_labels.to(device) if soft_labels is not None else None
    dsa = DSA(cfg.dsa_strategy or meta.dsa_strategy, meta.image_size) if cfg.dsa else None
    spec = TrainSpec(
        epochs=cfg.epochs,
        lr=lr if lr is not None else cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        batch_size=cfg.batch_size,
        schedule="step",
        dsa=dsa,
    )
    results = []
    for net_i, name in enumerate(net_names):
        start, accs = time.perf_counter(), []
        for model in range(cfg.n_models):
            generator = torch.Generator().manual_seed(seed * 1_000_003 + net_i * 1009 + model)
            with seeded(int(torch.randint(2**31 - 1, (1,), generator=generator)), device):
                net = build_net(name, meta.channels, meta.num_classes, meta.image_size).to(device)

            def report(point: dict, _name=name, _model=model) -> None:
                if on_progress is not None:
                    on_progress(
                        {
                            "phase": "eval",
                            "net": _name,
                            "model": _model + 1,
                            "n_models": cfg.n_models,
                            "epochs": cfg.epochs,
                            **point,
                        }
                    )

            net = net.to(memory_format=memory_format(device))
            res = train_network(
                net,
                images,
                labels,
                spec,
                soft_labels=soft,
                test=(real.test_images, real.test_labels),
                on_epoch=report,
                generator=generator,
                should_stop=should_stop,
            )
            assert res.test_acc is not None  # tested after the last epoch
            accs.append(res.test_acc)
        mean, std = summarize(accs)
        results.append(
            {
                "net": name,
                "acc_mean": mean,
                "acc_std": std,
                "n_models": cfg.n_models,
                "epochs": cfg.epochs,
                "accs": accs,
                "protocol": cfg.protocol,
                "seconds": time.perf_counter() - start,
            }
        )
    return results


def estimate_eval_seconds(n_images: int, real: RealData, net_name: str, cfg: EvalConfig, steps: int = 3) -> float:
    """Seconds ``evaluate_synthetic`` will take for a set of ``n_images`` on one net: a few timed training steps
    (after one warm-up) and one timed test batch, scaled to the protocol. An estimate for ETAs (±30 %)."""
    meta = real.meta
    device = real.train_images.device
    batch = min(cfg.batch_size, n_images)
    net = build_net(net_name, meta.channels, meta.num_classes, meta.image_size).to(device)
    net = net.to(memory_format=memory_format(device))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    dsa = DSA(cfg.dsa_strategy or meta.dsa_strategy, meta.image_size) if cfg.dsa else None
    x = real.train_images[:batch].clone()
    y = real.train_labels[:batch].clone()

    def step() -> None:
        out = net(dsa(x) if dsa is not None else x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    per_step = (time.perf_counter() - t0) / steps
    n_test = len(real.test_images)
    test_batch = real.test_images[: min(1024, n_test)]
    t0 = time.perf_counter()
    test_accuracy(net, test_batch, real.test_labels[: len(test_batch)])
    _sync(device)
    per_test = (time.perf_counter() - t0) * math.ceil(n_test / max(1, len(test_batch)))
    steps_total = math.ceil(n_images / batch) * cfg.epochs
    return cfg.n_models * (steps_total * per_step + per_test)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
