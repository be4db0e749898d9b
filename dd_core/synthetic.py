"""SyntheticSet: the learned images (+ optional PAD soft labels and step size), saved as plain tensors.

A ``.pt`` file holds only tensors and plain types and is loaded with ``weights_only=True``: a file carrying a
pickled object is refused, never executed. Loading validates every field (finite float32 images and soft labels
[N, K], int64 labels in [0, K), integer ipc >= 1, lr finite > 0, mean/std one per channel); a file that is not a set
says "<file> is not a DistillLab synthetic set (...)" in our words, never PyTorch's (it suggests weights_only=False).
Export: one PNG grid per class and one for the whole set (a row per class).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .errors import SyntheticSetError
from .paths import atomic_path

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
        """Check metadata, tensors (dtype, shape, finite), labels, soft labels and lr; raise SyntheticSetError naming
        ``source`` and the field that is wrong."""
        meta = self.meta
        if not isinstance(meta, dict):
            raise SyntheticSetError(f"{source}: 'meta' must be a dict, got {type(meta).__name__}")
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise SyntheticSetError(f"{source}: metadata lacks {', '.join(missing)}; re-save the set with DistillLab")
        for key in ("method", "dataset"):
            if not isinstance(meta[key], str):
                raise SyntheticSetError(f"{source}: meta[{key!r}] must be a string, got {_show(meta[key])}")
        for key, low in (("num_classes", 1), ("ipc", 1), ("channels", 1), ("image_size", 1), ("iteration", 0)):
            if not _is_int(meta[key]) or meta[key] < low:
                raise SyntheticSetError(f"{source}: meta[{key!r}] must be an integer >= {low}, got {_show(meta[key])}")
        k, ipc, c, s = (int(meta[x]) for x in ("num_classes", "ipc", "channels", "image_size"))
        for key in ("mean", "std"):
            v = meta[key]
            ok = isinstance(v, (list, tuple)) and len(v) == c and all(_is_real(x) and math.isfinite(x) for x in v)
            if not ok or (key == "std" and not all(x > 0 for x in v)):
                what = "positive finite numbers" if key == "std" else "finite numbers"
                raise SyntheticSetError(
                    f"{source}: meta[{key!r}] must be a list of {c} {what} (one per channel), got {_show(v)}"
                )
        n = k * ipc
        if not isinstance(self.images, Tensor) or self.images.dtype != torch.float32 or self.images.dim() != 4:
            raise SyntheticSetError(
                f"{source}: 'images' must be a float32 tensor [N,C,H,W], got {_describe(self.images)}"
            )
        if tuple(self.images.shape) != (n, c, s, s):
            raise SyntheticSetError(
                f"{source}: 'images' have shape {tuple(self.images.shape)}, but the metadata "
                f"says {k} classes x IPC {ipc} of {c}x{s}x{s} = ({n}, {c}, {s}, {s})"
            )
        if not bool(torch.isfinite(self.images).all()):
            raise SyntheticSetError(f"{source}: 'images' contain NaN or infinite values")
        if not isinstance(self.labels, Tensor) or self.labels.dtype != torch.int64 or tuple(self.labels.shape) != (n,):
            raise SyntheticSetError(f"{source}: 'labels' must be int64 of shape ({n},), got {_describe(self.labels)}")
        if n and (self.labels.min() < 0 or self.labels.max() >= k):
            raise SyntheticSetError(
                f"{source}: 'labels' must lie in [0, {k - 1}], found {int(self.labels.min())}..{int(self.labels.max())}"
            )
        counts = torch.bincount(self.labels, minlength=k)
        if not bool((counts == ipc).all()):
            raise SyntheticSetError(
                f"{source}: every class must have IPC {ipc} images in 'labels', counts are {counts.tolist()}"
            )
        soft = self.soft_labels
        if soft is not None:
            if not isinstance(soft, Tensor):
                raise SyntheticSetError(f"{source}: 'soft_labels' must be a tensor, got {_describe(soft)}")
            if not soft.is_floating_point():
                raise SyntheticSetError(
                    f"{source}: 'soft_labels' are {str(soft.dtype).removeprefix('torch.')} integers; soft labels must "
                    f"be float logits [{n}, {k}] (hard class ids belong in 'labels')"
                )
            if soft.dtype != torch.float32 or tuple(soft.shape) != (n, k):
                raise SyntheticSetError(
                    f"{source}: 'soft_labels' (soft labels) must be a float32 tensor of shape ({n}, {k}) "
                    f"(N images x K classes), got {_describe(soft)}"
                )
            if not bool(torch.isfinite(soft).all()):
                raise SyntheticSetError(f"{source}: 'soft_labels' contain NaN or infinite values")
        if self.lr is not None and not (_is_real(self.lr) and math.isfinite(self.lr) and self.lr > 0):
            raise SyntheticSetError(
                f"{source}: 'lr' (the learned learning rate) must be a finite number > 0, got {_show(self.lr)}"
            )
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
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticSet:
        """Load with ``weights_only=True`` (no code execution) and validate."""
        path = Path(path)
        if not path.is_file():
            raise SyntheticSetError(f"{path}: no such file")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - pickled objects, truncated files, not a torch file at all
            # PyTorch's own text is never passed on: it suggests weights_only=False (running the file's code)
            reason = _load_reason(err, zipfile.is_zipfile(path))
            raise SyntheticSetError(f"{path} is not a DistillLab synthetic set ({reason})") from None
        return cls.from_payload(payload, str(path))

    @classmethod
    def from_payload(cls, payload: object, source: str) -> SyntheticSet:
        """Build from what ``torch.load`` returned and validate; ``source`` (the file) is named in every error."""
        if not isinstance(payload, dict):
            raise SyntheticSetError(
                f"{source} is not a DistillLab synthetic set (it holds {_describe(payload)}; expected a dict "
                f"with format={FORMAT!r})"
            )
        fmt = payload.get("format")
        if not (isinstance(fmt, str) and fmt == FORMAT):
            raise SyntheticSetError(f"{source} is not a DistillLab synthetic set ({_foreign_dict(payload)})")
        images, labels, meta = payload.get("images"), payload.get("labels"), payload.get("meta")
        soft, lr = payload.get("soft_labels"), payload.get("lr")
        for key, value in (("images", images), ("labels", labels)):
            if not isinstance(value, Tensor):
                raise SyntheticSetError(f"{source}: {key!r} must be a tensor, got {_describe(value)}")
        assert isinstance(images, Tensor) and isinstance(labels, Tensor)  # for the type checker: checked above
        if not isinstance(meta, dict):
            raise SyntheticSetError(f"{source}: 'meta' must be a dict, got {_describe(meta)}")
        if soft is not None and not isinstance(soft, Tensor):
            raise SyntheticSetError(f"{source}: 'soft_labels' must be a tensor, got {_describe(soft)}")
        if lr is not None and not _is_real(lr):
            raise SyntheticSetError(f"{source}: 'lr' must be a number, got {_describe(lr)}")
        if _is_int_dtype(labels.dtype):  # int32 / uint8 ids are fine, stored as int64
            labels = labels.long()
        if soft is not None and soft.is_floating_point():  # float16 / float64 logits, stored as float32
            soft = soft.float()
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


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int_dtype(dtype: torch.dtype) -> bool:
    return dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _show(v: object, limit: int = 60) -> str:
    """``repr`` bounded to one short line (for a value in an error message)."""
    text = repr(v).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(v: object) -> str:
    """What an unexpected value is, e.g. 'a float32 tensor of shape (6, 3)', 'a str', 'nothing'."""
    if v is None:
        return "nothing"
    if isinstance(v, Tensor):
        return f"a {str(v.dtype).removeprefix('torch.')} tensor of shape {tuple(v.shape)}"
    return f"a {type(v).__name__} ({_show(v, 40)})" if isinstance(v, (str, int, float)) else f"a {type(v).__name__}"


def _foreign_dict(d: dict) -> str:
    """Why a dict is not a synthetic set, for the message in parentheses."""
    keys = [str(key) for key in d]
    shown = ", ".join(repr(key) for key in keys[:5]) + (", ..." if len(keys) > 5 else "")
    if keys and all(isinstance(v, Tensor) for v in d.values()):
        return f"it looks like model weights, a state_dict of {len(keys)} tensors ({shown})"
    if "format" in d:
        return f"format is {_show(d['format'], 40)}, expected {FORMAT!r}"
    return f"a dict with keys {shown or 'none'} but no format={FORMAT!r}"


def _load_reason(err: BaseException, is_zip: bool) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in our words (PyTorch's text suggests weights_only=False).
    ``is_zip``: the file is a torch.save archive (only then is an unsupported pickle global a real object)."""
    if isinstance(err, pickle.UnpicklingError):
        found = re.search(r"GLOBAL ([A-Za-z_][\w.]{0,80})", str(err)) if is_zip else None
        if found:
            return (
                f"it contains a pickled Python object ({found.group(1)}), which DistillLab never loads: "
                f"only tensors and plain values are accepted"
            )
        return "not a file written by torch.save, or a foreign pickle"
    if isinstance(err, EOFError):
        return "the file is empty or truncated"
    if isinstance(err, PermissionError):
        return "cannot read the file: permission denied"
    if isinstance(err, (RuntimeError, OSError, ValueError)):  # bad zip directory, seek past the end, ...
        return "the file is truncated or corrupt, not a readable torch.save archive"
    return f"unreadable: {type(err).__name__}"
