"""PAD: Prioritize Alignment in Dataset Distillation (Li et al., 2024), docs/algorithms.md §6, on top of MTT/DATM.

Per iteration: pick an expert and a start epoch t ∈ [min_start, U) (U grows from current_max_start to max_start over
expansion_end iterations); start a student at θ_t, take N = syn_steps SGD steps on mini-batches of the (DSA-augmented)
synthetic set with soft-label cross-entropy and the learnable step size α, keeping the graph; then

    L = Σ_{j∈K} (θ_N,j − θ_{t+M},j)² / Σ_{j∈K} (θ_t,j − θ_{t+M},j)²

over the selected parameters K only: depth masking (default) drops the first ``depth_ratio`` of the flattened
parameter vector in layer order (the shallow layers); ``masking='loss'`` instead drops the ``depth_ratio`` fraction of
entries with the smallest error (the official code's variant). Updates above ``threshold`` are skipped. S, the soft
labels Y (logits) and α are updated with their own SGD optimisers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import check_positive
from ..device import memory_format, place
from ..errors import ConfigError
from ..evaluate import soft_cross_entropy
from ..nets import build_net
from .base import Method, MethodConfig
from .experts import ExpertConfig, SchedulerConfig, get_experts


@dataclass
class PADConfig(MethodConfig):
    init: str = "correct"  # correct | real | noise
    INITS = ("correct", "real", "noise")
    CHOICES = {"score": ("el2n", "grand"), "masking": ("depth", "loss")}
    # expert trajectories (a run uses or builds them; cached under the data home)
    experts: int = 5
    trajectory_epochs: int = 30  # T: epochs each expert is trained (official: 100; ≥ max_start + M)
    expert_lr: float = 0.01  # lr_teacher: the experts' SGD lr and the initial α
    scheduler: bool = True  # PAD's difficulty scheduler (False: plain MTT experts)
    init_ratio: float = 0.75
    add_end_epoch: int = -1  # -1: the official 20 / 40 / 60 of 100 epochs, scaled to trajectory_epochs
    rm_epoch_first: int = -1
    rm_epoch_second: int = -1
    rm_easy_ratio_first: float = 0.1
    rm_easy_ratio_second: float = 0.2
    score: str = "el2n"
    score_models: int = 2
    score_epochs: int = 2
    experts_path: str | None = None  # use experts from this folder (checked against the run's dataset and net)
    # trajectory matching
    syn_steps: int = 80  # N student steps per iteration
    expert_epochs: int = 2  # M: the target is the expert M epochs after the start
    min_start_epoch: int = 0
    current_max_start_epoch: int = 10
    max_start_epoch: int = 20
    expansion_end: int = 1000  # iterations over which the start-epoch window grows (sequential generation)
    sequential: bool = True
    batch_syn: int = 0  # 0: the whole synthetic set per student step
    lr_img: float = 100.0
    momentum_img: float = 0.5
    lr_lr: float = 1e-5
    lr_y: float = 2.0
    momentum_y: float = 0.9
    threshold: float = 1.0
    depth_ratio: float = -1.0  # -1: by IPC (0 at IPC 1, 0.5 up to IPC 10, 0.25 above: the CIFAR-10 configs)
    masking: str = "depth"  # depth | loss
    max_memory_fraction: float = 0.8

    def validate(self) -> None:
        super().validate()
        for name in (
            "experts",
            "trajectory_epochs",
            "syn_steps",
            "expert_epochs",
            "expansion_end",
            "score_models",
            "score_epochs",
        ):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}", field=name)
        for name in ("lr_img", "lr_lr", "lr_y", "expert_lr", "threshold", "max_memory_fraction"):
            check_positive(name, getattr(self, name))
        for name in ("momentum_img", "momentum_y"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}", field=name)
        if not 0 < self.init_ratio <= 1:
            raise ConfigError(f"init_ratio must be in (0, 1], got {self.init_ratio}", field="init_ratio")
        for name in ("rm_easy_ratio_first", "rm_easy_ratio_second"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}", field=name)
        if not (self.depth_ratio == -1 or 0 <= self.depth_ratio < 1):
            raise ConfigError(
                f"depth_ratio must be in [0, 1) (or -1 for the IPC default), got {self.depth_ratio}",
                field="depth_ratio",
            )
        if self.batch_syn < 0:
            raise ConfigError(f"batch_syn must be >= 0 (0 = all), got {self.batch_syn}", field="batch_syn")
        if not 0 <= self.min_start_epoch <= self.current_max_start_epoch <= self.max_start_epoch:
            raise ConfigError(
                "start epochs must satisfy 0 <= min_start_epoch <= current_max_start_epoch <= "
                f"max_start_epoch, got {self.min_start_epoch}, {self.current_max_start_epoch}, "
                f"{self.max_start_epoch}",
                field="current_max_start_epoch",
            )
        if self.max_start_epoch + self.expert_epochs > self.trajectory_epochs:
            raise ConfigError(
                f"start epochs up to max_start_epoch {self.max_start_epoch} + expert_epochs "
                f"{self.expert_epochs} reach beyond the trajectories ({self.trajectory_epochs} epochs): "
                f"lower max_start_epoch to {self.trajectory_epochs - self.expert_epochs} or train "
                f"longer experts",
                field="max_start_epoch",
            )
        self.expert_config().validate()

    def ratio(self) -> float:
        if self.depth_ratio != -1:
            return self.depth_ratio
        return 0.0 if self.ipc <= 1 else 0.5 if self.ipc <= 10 else 0.25

    def expert_config(self) -> ExpertConfig:
        sched = None
        if self.scheduler:
            scaled = SchedulerConfig().scaled(self.trajectory_epochs)
            sched = SchedulerConfig(
                init_ratio=self.init_ratio,
                add_end_epoch=self.add_end_epoch if self.add_end_epoch >= 0 else scaled.add_end_epoch,
                rm_epoch_first=self.rm_epoch_first if self.rm_epoch_first >= 0 else scaled.rm_epoch_first,
                rm_epoch_second=self.rm_epoch_second if self.rm_epoch_second >= 0 else scaled.rm_epoch_second,
                rm_easy_ratio_first=self.rm_easy_ratio_first,
                rm_easy_ratio_second=self.rm_easy_ratio_second,
            )
        return ExpertConfig(
            experts=self.experts,
            epochs=self.trajectory_epochs,
            lr=self.expert_lr,
            momentum=0.0,
            dsa=self.dsa,
            scheduler=sched,
            score=self.score,
            score_models=self.score_models,
            score_epochs=self.score_epochs,
            seed=self.seed,
        )


def experts_options(options: dict) -> dict:
    """PAD options for an experts-only job: the matching window (irrelevant here) defaults to fit the trajectories."""
    opts = dict(options)
    epochs = int(opts.get("trajectory_epochs", 20))
    opts.setdefault("max_start_epoch", max(0, epochs - int(opts.get("expert_epochs", 2))))
    opts.setdefault("current_max_start_epoch", min(opts["max_start_epoch"], 10))
    opts.setdefault("min_start_epoch", 0)
    return opts


def available_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    return info.get("MemAvailable", os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


class PAD(Method):
    name = "pad"
    label = "PAD"
    description = (
        "**PAD** (Li et al., 2024): trajectory matching with difficulty-scheduled experts and deep-layer "
        "parameter selection (docs/algorithms.md §6)."
    )
    config_cls = PADConfig
    cfg: PADConfig

    def __init__(self, real, cfg: PADConfig, device, on_event=None, should_stop=None):
        super().__init__(real, cfg, device, on_event, should_stop)
        m = self.meta
        self.net = place(build_net(self.net_name, m.channels, m.num_classes, m.image_size), self.device)
        self.names = [n for n, _ in self.net.named_parameters()]
        self.shapes = [p.shape for p in self.net.parameters()]
        self.sizes = [p.numel() for p in self.net.parameters()]
        self.num_params = sum(self.sizes)
        if self.experts.tensors[0].shape[1] != self.num_params:
            raise ConfigError(
                f"experts have {self.experts.tensors[0].shape[1]} parameters, the run's {self.net_name} "
                f"has {self.num_params}: use experts of the same network"
            )
        if self.experts.epochs < cfg.max_start_epoch + cfg.expert_epochs:
            raise ConfigError(
                f"start epoch window up to {cfg.max_start_epoch} + {cfg.expert_epochs} is beyond the "
                f"experts' {self.experts.epochs} epochs"
            )
        self.batch_syn = cfg.batch_syn or len(self.labels)
        self.check_memory()
        self.soft_labels = self.init_soft_labels().requires_grad_(True)
        self.syn_lr = torch.tensor(cfg.expert_lr, device=self.device).requires_grad_(True)
        self.opt_img = torch.optim.SGD([self.images], lr=cfg.lr_img, momentum=cfg.momentum_img)
        self.opt_lr = torch.optim.SGD([self.syn_lr], lr=cfg.lr_lr, momentum=0.5)
        self.opt_y = torch.optim.SGD([self.soft_labels], lr=cfg.lr_y, momentum=cfg.momentum_y)
        cut = math.floor(cfg.ratio() * self.num_params)
        self.depth_mask = torch.arange(self.num_params, device=self.device) >= cut
        self.order = torch.empty(0, dtype=torch.long)

    # ------------------------------------------------------------------------------------------ setup
    def setup(self) -> None:
        """The expert trajectories: loaded from their cache, or built (difficulty scores, then each expert)."""
        cfg = self.cfg
        self.experts = get_experts(
            self.real,
            self.net_name,
            cfg.expert_config(),
            folder=cfg.experts_path,
            on_event=self.on_event,
            should_stop=self.should_stop,
        )

    def init_images(self) -> Tensor:
        """Noise, random real images, or real images that an expert classifies correctly (``correct``, the seed
        deck's best setting)."""
        cfg = self.cfg
        if cfg.init != "correct":
            return super().init_images()
        net = self.expert_net(self.experts.tensors[0][-1])
        picked = []
        with torch.no_grad():
            for c, members in enumerate(self.real.class_indices):
                order = members[torch.randperm(len(members), generator=self.generator).to(members.device)]
                preds = torch.cat(
                    [net(self.real.train_images[order[i : i + 512]]).argmax(1) for i in range(0, len(order), 512)]
                )
                good = order[preds == c]
                if len(good) < cfg.ipc:  # too few correct: fill with the rest in random order
                    good = torch.cat([good, order[preds != c]])
                picked.append(good[: cfg.ipc])
        return self.real.train_images[torch.cat(picked)].clone()

    def expert_net(self, flat: Tensor):
        m = self.meta
        net = build_net(self.net_name, m.channels, m.num_classes, m.image_size).to(self.device)
        torch.nn.utils.vector_to_parameters(flat.to(self.device), net.parameters())
        return net.eval()

    def init_soft_labels(self) -> Tensor:
        """Logits averaged over the experts (final snapshots) that classify each image correctly; an image no expert
        gets right starts from the mean over all experts with its class raised to the top (our rule: the spec is
        silent; it keeps the soft label's argmax on the image's class)."""
        k = self.meta.num_classes
        nets = [self.expert_net(t[-1]) for t in self.experts.tensors]
        with torch.no_grad():
            logits = torch.stack([net(self.images.detach()) for net in nets])
        correct = (logits.argmax(2) == self.labels[None]).float()  # [E, N]
        n_ok = correct.sum(0)
        mean_ok = (logits * correct[..., None]).sum(0) / n_ok.clamp_min(1)[:, None]
        fallback = logits.mean(0)
        lift = (fallback.max(1).values - fallback.gather(1, self.labels[:, None]).squeeze(1) + 1.0).clamp_min(0)
        fallback = fallback + F.one_hot(self.labels, k) * lift[:, None]
        return torch.where((n_ok > 0)[:, None], mean_ok, fallback).detach().clone()

    def memory_estimate(self) -> int:
        """Bytes the unrolled graph needs: per student step, the activations of a batch_syn batch kept for the
        double backward (≈ 4 tensors per block activation) plus the parameter-sized gradient graph."""
        with torch.no_grad():
            blocks, emb = self.net.features(self.images[:1].detach().to(memory_format=memory_format(self.device)))
        per_image = sum(a.numel() for a in blocks) + emb.numel()
        per_step = 4 * 4 * per_image * self.batch_syn + 4 * 4 * self.num_params
        return self.cfg.syn_steps * per_step

    def check_memory(self) -> None:
        need, free = self.memory_estimate(), available_memory_bytes(self.device)
        if need > self.cfg.max_memory_fraction * free:
            per_step = need / self.cfg.syn_steps
            fit = int(self.cfg.max_memory_fraction * free // per_step)
            raise ConfigError(
                f"{self.cfg.syn_steps} synthetic steps x batch {self.batch_syn} need about "
                f"{need / 2**30:.1f} GiB, but only {free / 2**30:.1f} GiB are available on "
                f"{self.device}: use at most {fit} syn_steps or a smaller batch_syn"
            )

    # ------------------------------------------------------------------------------------------ one iteration
    def student_logits(self, flat: Tensor, x: Tensor) -> Tensor:
        params = {n: t.view(s) for n, t, s in zip(self.names, flat.split(self.sizes), self.shapes, strict=True)}
        return torch.func.functional_call(self.net, params, (x,))

    def next_batch(self) -> Tensor:
        if len(self.order) < self.batch_syn:
            self.order = torch.randperm(len(self.labels), generator=self.generator)
        idx, self.order = self.order[: self.batch_syn], self.order[self.batch_syn :]
        return idx.to(self.device)

    def start_epoch(self, it: int) -> int:
        cfg = self.cfg
        upper = cfg.max_start_epoch
        if cfg.sequential:
            upper = min(
                cfg.max_start_epoch,
                cfg.current_max_start_epoch
                + int((cfg.max_start_epoch - cfg.current_max_start_epoch) * it / cfg.expansion_end),
            )
        upper = max(upper, cfg.min_start_epoch + 1)
        return int(torch.randint(cfg.min_start_epoch, upper, (1,), generator=self.generator))

    def matching_loss(self, student: Tensor, start: Tensor, target: Tensor) -> Tensor:
        """Normalised distance over the selected entries only (same entries in numerator and denominator)."""
        err, ref = (student - target).square(), (start - target).square()
        if self.cfg.masking == "loss":
            drop = math.floor(self.cfg.ratio() * self.num_params)
            keep = torch.ones_like(err, dtype=torch.bool)
            if drop:
                keep[torch.topk(err.detach(), drop, largest=False).indices] = False
        else:
            keep = self.depth_mask
        return err[keep].sum() / ref[keep].sum()

    def step(self, it: int) -> dict:
        cfg = self.cfg
        e = int(torch.randint(len(self.experts), (1,), generator=self.generator))
        t = self.start_epoch(it)
        traj = self.experts.tensors[e]
        start, target = traj[t], traj[t + cfg.expert_epochs]
        theta = start.clone().requires_grad_(True)
        fmt = memory_format(self.device)
        for _ in range(cfg.syn_steps):
            idx = self.next_batch()
            x = self.images[idx]
            if self.dsa is not None:
                x = self.dsa(x, self.generator)
            ce = soft_cross_entropy(self.student_logits(theta, x.contiguous(memory_format=fmt)), self.soft_labels[idx])
            (grad,) = torch.autograd.grad(ce, theta, create_graph=True)
            theta = theta - self.syn_lr * grad
        loss = self.matching_loss(theta, start, target)
        for opt in (self.opt_img, self.opt_lr, self.opt_y):
            opt.zero_grad(set_to_none=True)
        loss.backward()
        value = loss.item()
        skipped = not value <= cfg.threshold
        if not skipped:
            for opt in (self.opt_img, self.opt_lr, self.opt_y):
                opt.step()
        with torch.no_grad():
            self.syn_lr.clamp_(min=1e-6)  # a step size must stay positive
        self.iteration = it + 1
        return {"loss": value, "syn_lr": self.syn_lr.item(), "start_epoch": t, "skipped": float(skipped)}

    def extra_state(self) -> dict:
        return {"soft_labels": self.soft_labels.detach(), "lr": self.syn_lr.item()}
