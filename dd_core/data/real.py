"""``RealData``: a whole real dataset as tensors in memory (both splits, per-class indices, sampling, subsets)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import DatasetMeta


def _class_indices(labels: Tensor, num_classes: int) -> list[Tensor]:
    """Indices of ``labels`` per class (ascending, int64, on the labels' device): one argsort, no loop over items."""
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=num_classes).tolist()
    return list(torch.split(order, counts))


@dataclass
class RealData:
    """A whole real dataset in memory.

    ``train_images`` [N,C,H,W] float32, normalised with ``meta.mean`` / ``meta.std``; ``train_labels`` [N] int64;
    same for the test split. ``class_indices[c]`` [N_c] int64 = positions of class ``c`` in the training split.
    Tensors may be shared with the in-process cache of ``load_dataset``: never modify them in place.
    """

    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    meta: DatasetMeta
    class_indices: list[Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.class_indices = _class_indices(self.train_labels, self.meta.num_classes)

    def __repr__(self) -> str:
        return (
            f"RealData({self.meta.name}: train {tuple(self.train_images.shape)}, "
            f"test {tuple(self.test_images.shape)}, {self.meta.num_classes} classes, "
            f"device {self.train_images.device})"
        )

    @property
    def device(self) -> torch.device:
        return self.train_images.device

    def to(self, device: torch.device | str) -> RealData:
        """A copy with every tensor (class indices included) on ``device``; ``self`` itself is unchanged."""
        out = copy.copy(self)
        out.train_images = self.train_images.to(device)
        out.train_labels = self.train_labels.to(device)
        out.test_images = self.test_images.to(device)
        out.test_labels = self.test_labels.to(device)
        out.class_indices = [ix.to(device) for ix in self.class_indices]
        return out

    def sample_class(self, c: int, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` distinct random training images of class ``c``: [n,C,H,W] (a random permutation, first n)."""
        if not 0 <= c < self.meta.num_classes:
            raise ConfigError(f"class {c} out of range: {self.meta.name} has classes 0..{self.meta.num_classes - 1}")
        idx = self.class_indices[c]
        if n > idx.numel() or n < 0:
            raise ConfigError(
                f"cannot sample {n} images of class {c} ({self.meta.class_names[c]!r}) of {self.meta.name}: "
                f"the class has {idx.numel()} training images; lower the batch size / images per class"
            )
        gen_device = generator.device if generator is not None else idx.device
        perm = torch.randperm(idx.numel(), generator=generator, device=gen_device)[:n].to(idx.device)
        return self.train_images[idx[perm]]

    def class_counts(self) -> list[int]:
        """Number of training images per class."""
        return [int(ix.numel()) for ix in self.class_indices]

    def subset(self, max_train: int | None, max_test: int | None, seed: int = 0) -> RealData:
        """A stratified random subsample (class proportions kept, each class at least 1 image when the budget allows);
        ``None`` keeps a split whole. For tests and quick runs."""
        g = torch.Generator().manual_seed(seed)
        tr = _stratified_pick(self.train_labels, self.meta.num_classes, max_train, g)
        te = _stratified_pick(self.test_labels, self.meta.num_classes, max_test, g)
        return RealData(
            train_images=self.train_images if tr is None else self.train_images[tr],
            train_labels=self.train_labels if tr is None else self.train_labels[tr],
            test_images=self.test_images if te is None else self.test_images[te],
            test_labels=self.test_labels if te is None else self.test_labels[te],
            meta=self.meta,
        )


def _stratified_pick(labels: Tensor, num_classes: int, budget: int | None, g: torch.Generator) -> Tensor | None:
    """Sorted indices of a stratified sample of at most ``budget`` items, or None when the budget covers everything."""
    n = labels.numel()
    if budget is None or budget >= n:
        return None
    if budget < 1:
        raise ConfigError(f"subset size must be at least 1, got {budget}")
    cpu_labels = labels.cpu()
    counts = torch.bincount(cpu_labels, minlength=num_classes)
    present = counts > 0
    exact = counts.double() * budget / n
    quota = exact.floor().long()
    if budget >= int(present.sum()):  # every present class gets at least one
        quota = torch.where(present & (quota == 0), torch.ones_like(quota), quota)
    # hand out what is left (or take back the excess) by largest / smallest remainder
    rem = exact - exact.floor()
    while int(quota.sum()) < budget:
        cand = torch.where(quota < counts, rem, torch.full_like(rem, -1.0))
        k = int(torch.argmax(cand))
        quota[k] += 1
        rem[k] = -0.5
    while int(quota.sum()) > budget:
        cand = torch.where(quota > 1, rem, torch.full_like(rem, 2.0))
        k = int(torch.argmin(cand))
        quota[k] -= 1
        rem[k] = 1.5
    picks = []
    for c, ix in enumerate(_class_indices(cpu_labels, num_classes)):
        q = int(quota[c])
        if q:
            picks.append(ix[torch.randperm(ix.numel(), generator=g)[:q]])
    return torch.sort(torch.cat(picks)).values.to(labels.device)
