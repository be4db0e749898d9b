"""The method contract every distiller and coreset baseline follows (docs/design.md "The method contract").

m = METHODS[name](real, cfg, device)   # setup() (e.g. PAD's experts), then the synthetic set from cfg.init
metrics = m.step(it)                   # one outer iteration -> {"loss": float, parts...}
m.synthetic                            # the current SyntheticSet (after the updates done so far)
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ..augment import DSA
from ..config import check_choice, check_seed, coerce_fields
from ..data import RealData
from ..errors import ConfigError
from ..nets import build_net, check_net_name, default_net_for
from ..synthetic import SyntheticSet


@dataclass
class MethodConfig:
    """Options shared by every method. Subclasses add their own with the paper's defaults."""

    ipc: int = 10
    init: str = "real"  # real | noise (| correct for PAD)
    net: str | None = None  # the network the method distills with (None: convnet-3 ≤ 32 px, convnet-7 at 128)
    seed: int = 0
    dsa: bool = True
    dsa_strategy: str | None = None  # None: the dataset's (no flip for digits)

    INITS: ClassVar[tuple[str, ...]] = ("real", "noise")

    def validate(self) -> None:
        """Raise ConfigError on the first invalid option (called before any work); values are first converted by
        their declared types (:func:`config.coerce_options`), so a config built from text validates too."""
        coerce_fields(self)
        if self.ipc < 1:
            raise ConfigError(f"IPC must be a whole number >= 1, got {self.ipc!r}", field="ipc")
        check_choice("init", self.init, self.INITS)
        check_seed("seed", self.seed)
        if self.net is not None:
            try:
                check_net_name(self.net)
            except ConfigError as err:
                err.field = err.field or "net"
                raise

    @classmethod
    def choices(cls) -> dict[str, tuple[str, ...]]:
        """{field: valid values} of the choice fields: ``init`` (``INITS``) and those in ``CHOICES``."""
        return {"init": tuple(cls.INITS), **getattr(cls, "CHOICES", {})}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def fields(cls) -> list[str]:
        """The option names (dataclass fields; class constants such as ``INITS`` are not options)."""
        return [f.name for f in dataclasses.fields(cls)]


class Method:
    """Base class: holds the real data, the device, the seeded generator and the synthetic images."""

    name = "base"
    label = "base"  # how every interface names the method
    description = ""  # one paragraph (Markdown) shown beside the method's form
    config_cls = MethodConfig
    iterative = True  # False for coresets: nothing to optimise, iterations are ignored

    def __init__(self, real: RealData, cfg: MethodConfig, device: torch.device, on_event=None, should_stop=None):
        """``on_event`` / ``should_stop`` serve set-up phases with progress of their own (PAD's experts)."""
        self.on_event, self.should_stop = on_event, should_stop
        cfg.validate()
        check_ipc(real, cfg.ipc)
        self.real = real.to(device)
        self.cfg = cfg
        self.device = torch.device(device)
        self.meta = real.meta
        self.net_name = cfg.net or default_net_for(real.meta.image_size)
        build_net(self.net_name, self.meta.channels, self.meta.num_classes, self.meta.image_size)  # fail early
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.dsa = DSA(cfg.dsa_strategy or real.meta.dsa_strategy, real.meta.image_size) if cfg.dsa else None
        self.iteration = 0
        k = self.meta.num_classes
        self.labels = torch.arange(k, device=self.device).repeat_interleave(cfg.ipc)
        self.setup()
        self.images = self.init_images().to(self.device).requires_grad_(self.iterative)

    def setup(self) -> None:
        """What the method needs before its images exist, reported through ``on_event`` and stopped by
        ``should_stop`` (PAD: its expert trajectories, built or loaded). Nothing by default."""

    def init_images(self) -> Tensor:
        """[K*IPC,C,H,W] class-major initial images: random real images or standard normal noise."""
        if self.cfg.init == "noise":
            m = self.meta
            return torch.randn(
                m.num_classes * self.cfg.ipc, m.channels, m.image_size, m.image_size, generator=self.generator
            )
        images, _ = random_real(self.real, self.cfg.ipc, self.generator)
        return images.detach().clone()

    def step(self, it: int) -> dict:
        raise NotImplementedError

    def extra_state(self) -> dict:
        """Soft labels / learned lr for the synthetic set (PAD overrides)."""
        return {}

    @property
    def synthetic(self) -> SyntheticSet:
        m = self.meta
        meta = {
            "method": self.name,
            "dataset": m.name,
            "ipc": self.cfg.ipc,
            "iteration": self.iteration,
            "num_classes": m.num_classes,
            "channels": m.channels,
            "image_size": m.image_size,
            "mean": list(m.mean),
            "std": list(m.std),
            "class_names": list(m.class_names),
            "net": self.net_name,
            "config": self.cfg.to_dict(),
        }
        extra = self.extra_state()
        return SyntheticSet(self.images.detach(), self.labels.detach(), meta, extra.get("soft_labels"), extra.get("lr"))


def sample_real_batch(real: RealData, batch_per_class: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``batch_per_class`` random real images of every class (without replacement within a class; fewer when a
    class is smaller). Returns images [ΣB_c,C,H,W] (class-major) and their class ids [ΣB_c]."""
    idx, groups = [], []
    for c, members in enumerate(real.class_indices):
        n = min(batch_per_class, len(members))
        pick = torch.randperm(len(members), generator=generator)[:n].to(members.device)
        idx.append(members[pick])
        groups.append(torch.full((n,), c, dtype=torch.long))
    idx_t = torch.cat(idx)
    return real.train_images.index_select(0, idx_t), torch.cat(groups)


def class_means(x: Tensor, groups: Tensor, num_classes: int) -> Tensor:
    """Per-class mean of rows of ``x [N,F]`` grouped by ``groups [N]`` → [K,F] (index_add, no loop)."""
    groups = groups.to(x.device)
    sums = torch.zeros(num_classes, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, groups, x)
    counts = torch.bincount(groups, minlength=num_classes).clamp_min(1).to(x.dtype)
    return sums / counts[:, None]


def check_ipc(real: RealData, ipc: int) -> None:
    """IPC must be ≥ 1 and at most the size of the smallest class."""
    if not isinstance(ipc, int) or isinstance(ipc, bool) or ipc < 1:
        raise ConfigError(f"IPC (images per class) must be a whole number >= 1, got {ipc!r}", field="ipc")
    counts = real.class_counts()
    smallest = min(counts)
    if ipc > smallest:
        c = counts.index(smallest)
        raise ConfigError(
            f"IPC {ipc} is larger than class {real.meta.class_names[c]!r} of {real.meta.name}, "
            f"which has {smallest} training images; use an IPC of {smallest} or less",
            field="ipc",
        )


def random_real(real: RealData, ipc: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """``ipc`` random real training images per class, class-major: images [K*ipc,C,H,W], labels [K*ipc]."""
    check_ipc(real, ipc)
    k = real.meta.num_classes
    images = torch.cat([real.sample_class(c, ipc, generator) for c in range(k)])
    labels = torch.arange(k, device=images.device).repeat_interleave(ipc)
    return images, labels
