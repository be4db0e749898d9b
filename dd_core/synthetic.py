"""SyntheticSet: the learned images (+ optional PAD soft labels and step size), saved as plain tensors.

A ``.pt`` file holds only tensors and plain types and is loaded with ``weights_only=True``: a file carrying a
pickled object is refused, never executed. Export: one PNG grid per class and one for the whole set (a row per class).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .errors import SyntheticSetError

FORMAT = "distilllab.synthetic/1"
REQUIRED_META = ("method", "dataset", "ipc", "iteration", "num_classes", "channels", "image_size", "mean", "std")


@dataclass
class SyntheticSet:
    images: Tensor  # [K*IPC, C, H, W] float32, in the dataset's normalised space
    labels: Tensor  # [K*IPC] int64, class-major (IPC of class 0, then class 1, ...)
    meta: dict = field(default_factory=dict)  # plain types: REQUIRED_META + class_names, config, ...
    soft_labels: Tensor | None = None  # [K*IPC, K] logits (PAD)
    lr: float | None = None  # learned evaluation step size (PAD)

    @property
    def ipc(self) -> int:
        return int(self.meta["ipc"])

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    def detached(self) -> SyntheticSet:
        """A CPU copy that shares nothing with the optimiser's tensors."""
        soft = self.soft_labels.detach().cpu().clone() if self.soft_labels is not None else None
        return SyntheticSet(
            self.images.detach().cpu().clone(),
            self.labels.detach().cpu().clone(),
            json.loads(json.dumps(self.meta)),
            soft,
            None if self.lr is None else float(self.lr),
        )

    # ------------------------------------------------------------------ validation
    def validate(self, source: str = "synthetic set") -> SyntheticSet:
        """Check shapes, labels and metadata; raise SyntheticSetError naming what is wrong."""
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing:
            raise SyntheticSetError(f"{source}: metadata lacks {', '.join(missing)}")
        k, ipc, c, s = (int(self.meta[x]) for x in ("num_classes", "ipc", "channels", "image_size"))
        if self.images.dtype != torch.float32 or self.images.dim() != 4:
            raise SyntheticSetError(
                f"{source}: images must be a float32 tensor [N,C,H,W], "
                f"got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if tuple(self.images.shape) != (k * ipc, c, s, s):
            raise SyntheticSetError(
                f"{source}: images have shape {tuple(self.images.shape)}, but the metadata "
                f"says {k} classes x IPC {ipc} of {c}x{s}x{s} = ({k * ipc}, {c}, {s}, {s})"
            )
        if self.labels.dtype != torch.int64 or tuple(self.labels.shape) != (k * ipc,):
            raise SyntheticSetError(
                f"{source}: labels must be int64 of shape ({k * ipc},), "
                f"got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= k):
            raise SyntheticSetError(
                f"{source}: labels must lie in [0, {k - 1}], found {int(self.labels.min())}..{int(self.labels.max())}"
            )
        counts = torch.bincount(self.labels, minlength=k)
        if not bool((counts == ipc).all()):
            raise SyntheticSetError(f"{source}: every class must have IPC {ipc} images, counts are {counts.tolist()}")
        if not torch.isfinite(self.images).all():
            raise SyntheticSetError(f"{source}: images contain NaN or infinite values")
        if self.soft_labels is not None and tuple(self.soft_labels.shape) != (k * ipc, k):
            raise SyntheticSetError(
                f"{source}: soft labels must have shape ({k * ipc}, {k}), got {tuple(self.soft_labels.shape)}"
            )
        if self.lr is not None and not self.lr > 0:
            raise SyntheticSetError(f"{source}: learned learning rate must be > 0, got {self.lr}")
        return self

    def check_compatible(self, dataset_meta) -> None:
        """Refuse a set whose classes, channels or image size differ from the dataset (a ``DatasetMeta``)."""
        mine = (self.num_classes, int(self.meta["channels"]), int(self.meta["image_size"]))
        theirs = (dataset_meta.num_classes, dataset_meta.channels, dataset_meta.image_size)
        if mine != theirs:
            raise SyntheticSetError(
                f"synthetic set ({mine[0]} classes, {mine[1]}x{mine[2]}x{mine[2]}) does not match dataset "
                f"{dataset_meta.name} ({theirs[0]} classes, {theirs[1]}x{theirs[2]}x{theirs[2]})"
            )

    # ------------------------------------------------------------------ file I/O
    def save(self, path: str | os.PathLike) -> Path:
        """Atomic write (temp file + rename): an interrupted save never leaves a half-written file."""
        syn = self.detached().validate()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "images": syn.images,
            "labels": syn.labels,
            "meta": syn.meta,
            "soft_labels": syn.soft_labels,
            "lr": syn.lr,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            torch.save(payload, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticSet:
        """Load with ``weights_only=True`` (no code execution) and validate."""
        path = Path(path)
        if not path.is_file():
            raise SyntheticSetError(f"{path}: no such file")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # pickled objects, truncated files, not a torch file at all
            reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise SyntheticSetError(f"{path}: not a valid synthetic set (refused to load: {reason})") from None
        return cls.from_payload(payload, str(path))

    @classmethod
    def from_payload(cls, payload, source: str) -> SyntheticSet:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise SyntheticSetError(
                f"{source}: not a DistillLab synthetic set (expected a dict with format={FORMAT!r})"
            )
        images, labels, meta = payload.get("images"), payload.get("labels"), payload.get("meta")
        soft, lr = payload.get("soft_labels"), payload.get("lr")
        if not isinstance(images, Tensor) or not isinstance(labels, Tensor) or not isinstance(meta, dict):
            raise SyntheticSetError(f"{source}: 'images' and 'labels' must be tensors and 'meta' a dict")
        if soft is not None and not isinstance(soft, Tensor):
            raise SyntheticSetError(f"{source}: 'soft_labels' must be a tensor")
        if lr is not None and not isinstance(lr, (int, float)):
            raise SyntheticSetError(f"{source}: 'lr' must be a number")
        return cls(images, labels, meta, soft, None if lr is None else float(lr)).validate(source)

    # ------------------------------------------------------------------ images
    def denormalized(self) -> Tensor:
        """Images in [0, 1] for display: x·std + mean, clipped. [N,C,H,W]."""
        mean = torch.tensor(self.meta["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.meta["std"], dtype=torch.float32).view(1, -1, 1, 1)
        return (self.images.detach().cpu() * std + mean).clamp(0, 1)

    def grid(self, classes: list[int] | None = None, upscale: int | None = None) -> Tensor:
        """A [H', W', C] uint8 grid image: one row per class (of ``classes``), IPC columns."""
        return image_grid(self.denormalized(), self.ipc, classes, upscale)

    def export_pngs(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``all.png`` (one row per class) and ``class_<k>_<name>.png`` for every class; return the paths."""
        from PIL import Image

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = self.meta.get("class_names") or [str(k) for k in range(self.num_classes)]
        paths = [folder / "all.png"]
        Image.fromarray(self.grid().numpy().squeeze()).save(paths[0])
        for k in range(self.num_classes):
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(names[k]))
            p = folder / f"class_{k}_{safe}.png"
            Image.fromarray(self.grid([k]).numpy().squeeze()).save(p)
            paths.append(p)
        return paths


def image_grid(
    images01: Tensor, per_row: int, rows: list[int] | None = None, upscale: int | None = None, pad: int = 2
) -> Tensor:
    """Arrange [N,C,H,W] images in [0,1] (class-major, ``per_row`` per class) as a uint8 [H',W',C] grid."""
    n, c, h, w = images01.shape
    rows = list(range(n // per_row)) if rows is None else rows
    up = upscale or max(1, 64 // max(h, w))
    x = images01.view(-1, per_row, c, h, w)[rows]
    if up > 1:
        x = x.repeat_interleave(up, dim=3).repeat_interleave(up, dim=4)
    r, k, _, hh, ww = x.shape
    x = torch.nn.functional.pad(x, (0, pad, 0, pad), value=1.0)  # white gutter right/below each image
    canvas = x.permute(2, 0, 3, 1, 4).reshape(c, r * (hh + pad), k * (ww + pad))
    canvas = torch.nn.functional.pad(canvas, (pad, 0, pad, 0), value=1.0)  # and along the top/left edge
    return (canvas * 255).round().to(torch.uint8).permute(1, 2, 0)
