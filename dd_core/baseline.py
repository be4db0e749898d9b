"""Whole-dataset training: the upper bound every distiller is compared with (seed deck: ConvNet-3 on MNIST,
ConvNet-7 on MHIST; SGD + momentum, cosine annealing over all steps, batch 256, no DSA by default)."""

from __future__ import annotations

import time

import torch

from .augment import DSA
from .config import BaselineConfig
from .data import RealData
from .device import memory_format, seeded
from .evaluate import TrainSpec, train_network
from .events import EventFn, StopFn
from .nets import build_net


def run_baseline(
    real: RealData, cfg: BaselineConfig, *, on_epoch: EventFn | None = None, should_stop: StopFn | None = None
) -> dict:
    """Train ``cfg.net`` on the whole training set of ``real`` (already on its device); test after every epoch.

    Returns {"dataset","net","epochs","test_acc","seconds","curve":[{"epoch","loss","lr","test_acc"}]}.
    """
    meta = real.meta
    device = real.train_images.device
    generator = torch.Generator().manual_seed(cfg.seed)
    with seeded(cfg.seed, device):
        net = build_net(cfg.net, meta.channels, meta.num_classes, meta.image_size).to(device)
    net = net.to(memory_format=memory_format(device))
    spec = TrainSpec(
        epochs=cfg.epochs,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        batch_size=cfg.batch_size,
        schedule="cosine",
        dsa=DSA(meta.dsa_strategy, meta.image_size) if cfg.dsa else None,
    )
    start = time.perf_counter()
    res = train_network(
        net,
        real.train_images,
        real.train_labels,
        spec,
        test=(real.test_images, real.test_labels),
        test_every=1,
        on_epoch=on_epoch,
        generator=generator,
        should_stop=should_stop,
    )
    return {
        "dataset": meta.name,
        "net": cfg.net,
        "epochs": cfg.epochs,
        "test_acc": res.test_acc,
        "seconds": time.perf_counter() - start,
        "curve": res.curve,
    }
