"""Expert trajectories for trajectory matching (MTT/DATM/PAD), with PAD's difficulty-aware data scheduler.

docs/algorithms.md §6(a): score every training sample's difficulty (EL2N: ‖softmax(f(x)) − onehot(y)‖₂ averaged over a
few briefly trained networks; GraNd as an option), then train E experts (SGD lr 0.01, no momentum, batch 256, DSA)
for T epochs on a per-epoch subset that starts with the easiest ``init_ratio`` of every class, grows to all data by
``add_end_epoch``, and drops the easiest fractions at ``rm_epoch_first`` / ``rm_epoch_second``. The parameters are
saved after every epoch (and at initialisation): one trajectory = a [T+1, P] tensor of flattened parameters.

Cache: ``<data home>/experts/<key>/`` where the key hashes everything that determines the trajectories; one file per
finished expert (written atomically, with a checksum); an interrupted build resumes with the experts that are
missing; a corrupted file is detected, deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..augment import DSA
from ..data import RealData
from ..device import place, seeded
from ..errors import ConfigError
from ..evaluate import Stopped, TrainSpec, test_accuracy, train_network
from ..events import EventFn, ProgressEvent, StopFn
from ..nets import build_net
from ..paths import atomic_path, data_home

FORMAT = "distilllab.expert/1"


@dataclass
class SchedulerConfig:
    """PAD's per-epoch data schedule (official CIFAR-10 values for 100-epoch trajectories)."""

    init_ratio: float = 0.75
    add_end_epoch: int = 20
    rm_epoch_first: int = 40
    rm_epoch_second: int = 60
    rm_easy_ratio_first: float = 0.1
    rm_easy_ratio_second: float = 0.2

    def validate(self) -> None:
        if not 0 < self.init_ratio <= 1:
            raise ConfigError(f"init_ratio must be in (0, 1], got {self.init_ratio}")
        if not 0 <= self.rm_easy_ratio_first < 1 or not 0 <= self.rm_easy_ratio_second < 1:
            raise ConfigError("the removal ratios must be in [0, 1)")
        if not 0 <= self.add_end_epoch <= self.rm_epoch_first <= self.rm_epoch_second:
            raise ConfigError(
                f"scheduler epochs must satisfy 0 <= add_end_epoch ({self.add_end_epoch}) <= "
                f"rm_epoch_first ({self.rm_epoch_first}) <= rm_epoch_second ({self.rm_epoch_second})"
            )

    def scaled(self, epochs: int, reference_epochs: int = 100) -> SchedulerConfig:
        """The same schedule for ``epochs``-long trajectories (epochs scaled proportionally)."""
        f = epochs / reference_epochs
        return SchedulerConfig(
            self.init_ratio,
            round(self.add_end_epoch * f),
            round(self.rm_epoch_first * f),
            round(self.rm_epoch_second * f),
            self.rm_easy_ratio_first,
            self.rm_easy_ratio_second,
        )


@dataclass
class ExpertConfig:
    experts: int = 5
    epochs: int = 20
    lr: float = 0.01  # lr_teacher
    momentum: float = 0.0
    batch_size: int = 256
    dsa: bool = True
    scheduler: SchedulerConfig | None = None  # None: plain MTT experts on all data
    score: str = "el2n"  # difficulty score: el2n | grand
    score_models: int = 2
    score_epochs: int = 2
    seed: int = 0

    def validate(self) -> None:
        for name in ("experts", "epochs", "batch_size", "score_models", "score_epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
        if not self.lr > 0:
            raise ConfigError(f"expert learning rate must be > 0, got {self.lr}")
        if self.score not in ("el2n", "grand"):
            raise ConfigError(f"unknown difficulty score {self.score!r}; choose el2n or grand")
        if self.scheduler is not None:
            self.scheduler.validate()


# ------------------------------------------------------------------------------------------- difficulty + schedule
def difficulty_scores(real: RealData, net_name: str, cfg: ExpertConfig) -> Tensor:
    """Per-sample difficulty [N] (higher = harder), averaged over ``score_models`` briefly trained nets.

    EL2N = ‖p − y‖₂; GraNd (last-layer approximation) = ‖p − y‖₂ · √(1 + ‖h‖²) with h the embedding."""
    m, device = real.meta, real.train_images.device
    total = torch.zeros(len(real.train_labels), device=device)
    for k in range(cfg.score_models):
        generator = torch.Generator().manual_seed(cfg.seed * 7919 + 101 + k)
        with seeded(cfg.seed * 7919 + 101 + k, device):
            net = place(build_net(net_name, m.channels, m.num_classes, m.image_size), device)
        train_network(
            net,
            real.train_images,
            real.train_labels,
            TrainSpec(
                epochs=cfg.score_epochs,
                lr=cfg.lr,
                momentum=0.9,
                weight_decay=5e-4,
                batch_size=cfg.batch_size,
                schedule="cosine",
            ),
            generator=generator,
        )
        net.eval()
        with torch.inference_mode():
            for i in range(0, len(total), 1024):
                x, y = real.train_images[i : i + 1024], real.train_labels[i : i + 1024]
                emb = net.embed(x)
                err = (F.softmax(net.classifier(emb), 1) - F.one_hot(y, m.num_classes)).norm(dim=1)
                if cfg.score == "grand":
                    err = err * (1 + emb.square().sum(1)).sqrt()
                total[i : i + 1024] += err
    return total / cfg.score_models


def class_orders(real: RealData, scores: Tensor) -> list[Tensor]:
    """Per class, the global training indices sorted easiest → hardest."""
    return [members[torch.argsort(scores[members], stable=True)] for members in real.class_indices]


def epoch_subset(orders: list[Tensor], epoch: int, s: SchedulerConfig) -> Tensor:
    """Training indices used in ``epoch`` (0-based) under PAD's schedule, per class by fractions."""
    parts = []
    for order in orders:
        n = len(order)
        if epoch <= s.add_end_epoch:
            r = 1.0 if s.add_end_epoch == 0 else min(1.0, s.init_ratio + (1 - s.init_ratio) * epoch / s.add_end_epoch)
            parts.append(order[: max(1, math.floor(r * n))])
        elif epoch <= s.rm_epoch_first:
            parts.append(order)
        elif epoch <= s.rm_epoch_second:
            parts.append(order[math.floor(s.rm_easy_ratio_first * n) :])
        else:
            parts.append(order[math.floor(s.rm_easy_ratio_second * n) :])
    return torch.cat(parts)


# ------------------------------------------------------------------------------------------- the cache
def flat_params(net: nn.Module) -> Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]).cpu().clone()


def cache_key(real: RealData, net_name: str, cfg: ExpertConfig) -> str:
    ident = {
        "format": FORMAT,
        "dataset": real.meta.name,
        "source": real.meta.source,
        "n_train": len(real.train_labels),
        "image_size": real.meta.image_size,
        "channels": real.meta.channels,
        "net": net_name,
        "cfg": {k: v for k, v in asdict(cfg).items() if k != "experts"},
    }
    return hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _checksum(t: Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def save_expert(path: Path, trajectory: Tensor, meta: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "trajectory": trajectory, "meta": meta, "sha256": _checksum(trajectory)}, tmp)


def load_expert(path: Path) -> tuple[Tensor, dict] | None:
    """A validated trajectory [T+1, P], or None when the file is missing or corrupt (then it is deleted)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        traj = payload["trajectory"]
        if payload.get("format") != FORMAT or _checksum(traj) != payload["sha256"]:
            raise ValueError("checksum mismatch")
        return traj, payload["meta"]
    except Exception:  # noqa: BLE001 - a damaged cache file of any kind is rebuilt
        path.unlink(missing_ok=True)
        return None


class Trajectories:
    """E expert trajectories, each [T+1, P] (kept in memory on the device)."""

    def __init__(self, tensors: list[Tensor], meta: dict, folder: Path, built: int):
        self.tensors, self.meta, self.folder, self.built = tensors, meta, folder, built

    def __len__(self) -> int:
        return len(self.tensors)

    @property
    def epochs(self) -> int:
        return self.tensors[0].shape[0] - 1


def get_experts(
    real: RealData,
    net_name: str,
    cfg: ExpertConfig,
    *,
    folder: str | os.PathLike | None = None,
    on_event: EventFn | None = None,
    should_stop: StopFn | None = None,
) -> Trajectories:
    """Load the cached experts of this configuration, building (only) the missing ones."""
    cfg.validate()
    emit = on_event or (lambda e: None)
    key = cache_key(real, net_name, cfg)
    folder = Path(folder) if folder else data_home() / "experts" / key
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "dataset": real.meta.name,
        "net": net_name,
        "channels": real.meta.channels,
        "image_size": real.meta.image_size,
        "num_classes": real.meta.num_classes,
        "key": key,
        "config": json.loads(json.dumps(asdict(cfg))),
    }
    (folder / "config.json").write_text(json.dumps(meta, indent=2))
    device = real.train_images.device
    trajectories, built = [], 0
    orders = None
    for i in range(cfg.experts):
        path = folder / f"expert_{i:03d}.pt"
        loaded = load_expert(path)
        if loaded is not None:
            check_expert_meta(loaded[1], meta, path)
            trajectories.append(loaded[0].to(device))
            emit(
                ProgressEvent(
                    type="progress",
                    phase="experts",
                    expert=i + 1,
                    experts=cfg.experts,
                    epoch=cfg.epochs,
                    epochs=cfg.epochs,
                    cached=True,
                )
            )
            continue
        if cfg.scheduler is not None and orders is None:
            emit(
                ProgressEvent(
                    type="progress",
                    phase="experts",
                    expert=0,
                    experts=cfg.experts,
                    epoch=0,
                    epochs=cfg.epochs,
                    step="difficulty scores",
                )
            )
            scores_path = folder / "scores.pt"
            scores = torch.load(scores_path, weights_only=True) if scores_path.is_file() else None
            if scores is None or scores.shape != real.train_labels.shape:
                scores = difficulty_scores(real, net_name, cfg).cpu()
                torch.save(scores, scores_path)
            orders = class_orders(real, scores.to(device))
        traj = train_expert(real, net_name, cfg, i, orders, emit, should_stop)
        save_expert(path, traj, {**meta, "index": i})
        trajectories.append(traj.to(device))
        built += 1
    return Trajectories(trajectories, meta, folder, built)


def check_expert_meta(found: dict, expected: dict, path: Path) -> None:
    for k in ("dataset", "net", "channels", "image_size", "num_classes"):
        if found.get(k) != expected.get(k):
            raise ConfigError(
                f"{path}: these experts were trained for {k}={found.get(k)!r}, but the run uses "
                f"{expected.get(k)!r}; build experts for this run (omit the experts path)"
            )


def train_expert(
    real: RealData,
    net_name: str,
    cfg: ExpertConfig,
    index: int,
    orders: list[Tensor] | None,
    emit: EventFn,
    should_stop: StopFn | None,
) -> Tensor:
    """Train one expert; return its trajectory [T+1, P] (parameters at init and after every epoch), on CPU."""
    m, device = real.meta, real.train_images.device
    seed = cfg.seed * 1_000_003 + 7 * index + 1
    generator = torch.Generator().manual_seed(seed)
    with seeded(seed, device):
        net = place(build_net(net_name, m.channels, m.num_classes, m.image_size), device)
    spec = TrainSpec(
        epochs=1,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=0.0,
        batch_size=cfg.batch_size,
        schedule="constant",
        dsa=DSA(m.dsa_strategy, m.image_size) if cfg.dsa else None,
    )
    snapshots = [flat_params(net)]
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        if should_stop is not None and should_stop():
            raise Stopped()
        idx = epoch_subset(orders, epoch, cfg.scheduler) if orders is not None and cfg.scheduler else None
        images = real.train_images if idx is None else real.train_images.index_select(0, idx)
        labels = real.train_labels if idx is None else real.train_labels.index_select(0, idx)
        res = train_network(net, images, labels, spec, generator=generator, optimizer=opt)
        snapshots.append(flat_params(net))
        emit(
            ProgressEvent(
                type="progress",
                phase="experts",
                expert=index + 1,
                experts=cfg.experts,
                epoch=epoch + 1,
                epochs=cfg.epochs,
                loss=res.train_loss,
                train_acc=res.train_acc,
                subset=len(labels),
                seconds=time.perf_counter() - start,
            )
        )
    acc = test_accuracy(net, real.test_images, real.test_labels)
    emit(
        ProgressEvent(
            type="progress",
            phase="experts",
            expert=index + 1,
            experts=cfg.experts,
            epoch=cfg.epochs,
            epochs=cfg.epochs,
            test_acc=acc,
            final=True,
            seconds=time.perf_counter() - start,
        )
    )
    return torch.stack(snapshots)
