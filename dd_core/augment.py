"""DSA: differentiable siamese augmentation (Zhao & Bilen, ICML 2021), vectorised.

Every transform is differentiable w.r.t. the pixels (grids and masks do not depend on pixel values), so gradients
reach synthetic images. Parameters are explicit tensors (no RNG re-seeding tricks, docs/algorithms.md §8.8):

* siamese:      ``p = dsa.sample(G)`` draws one parameter set per group (class); ``dsa.apply(x, p, groups)`` applies
                group ``groups[i]``'s transform to image i. Calling ``apply`` on the real and the synthetic batch with
                the same ``p`` gives both the same transform (the DM/AM contract).
* non-siamese:  ``dsa(x)`` draws one family for the call and independent numbers per image (evaluation training).

Mode "single": each parameter set picks one family of the strategy; the ``color`` family applies brightness,
saturation and contrast in that order. Images are in normalised space and never clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import ConfigError

FAMILIES = ("color", "crop", "cutout", "flip", "scale", "rotate")
STRATEGY_NATURAL = "color_crop_cutout_flip_scale_rotate"
STRATEGY_DIGITS = "color_crop_cutout_scale_rotate"  # no flip for digits


@dataclass
class DSAParams:
    """One transform per group; every field has leading dim G (number of groups)."""

    family: Tensor  # [G] int64, index into FAMILIES
    brightness: Tensor  # [G] additive shift in [-0.5, 0.5]
    saturation: Tensor  # [G] factor in [0, 2]
    contrast: Tensor  # [G] factor in [0.5, 1.5]
    shift: Tensor  # [G, 2] int64 (dy, dx) translation in pixels
    cutout: Tensor  # [G, 2] int64 (row, col) centre of the cut square
    flip: Tensor  # [G] bool
    scale: Tensor  # [G, 2] (sx, sy) in [1/1.2, 1.2]
    angle: Tensor  # [G] radians in [-15°, 15°]

    def gather(self, index: Tensor) -> DSAParams:
        """Per-sample parameters: row ``index[i]`` for sample i."""
        return DSAParams(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    def to(self, device: torch.device) -> DSAParams:
        return DSAParams(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


class DSA:
    """Differentiable siamese augmentation for square images of side ``image_size``."""

    def __init__(
        self,
        strategy: str = STRATEGY_NATURAL,
        image_size: int = 32,
        *,
        brightness: float = 1.0,
        saturation: float = 2.0,
        contrast: float = 0.5,
        crop_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        scale_ratio: float = 1.2,
        rotate_degrees: float = 15.0,
    ):
        names = [f for f in strategy.split("_") if f]
        bad = [f for f in names if f not in FAMILIES]
        if not names or bad:
            raise ConfigError(f"unknown DSA strategy {strategy!r}: use '_'-joined families from {', '.join(FAMILIES)}")
        self.strategy = strategy
        self.families = torch.tensor([FAMILIES.index(f) for f in names])
        self.size = image_size
        self.brightness, self.saturation_ratio, self.contrast_ratio = brightness, saturation, contrast
        self.max_shift = int(image_size * crop_ratio + 0.5)
        self.cut = int(image_size * cutout_ratio + 0.5)
        self.scale_ratio = scale_ratio
        self.max_angle = math.radians(rotate_degrees)

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, generator: torch.Generator | None = None, family: int | None = None) -> DSAParams:
        """Draw ``n`` parameter sets on the CPU (cheap); ``family`` forces one family for all of them."""
        g = generator
        u = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
        if family is None:
            fam = self.families[torch.randint(len(self.families), (n,), generator=g)]
        else:
            fam = torch.full((n,), family, dtype=torch.long)
        s, size = self.max_shift, self.size
        return DSAParams(
            family=fam,
            brightness=(u(n) - 0.5) * self.brightness,
            saturation=u(n) * self.saturation_ratio,
            contrast=u(n) + self.contrast_ratio,
            shift=torch.randint(-s, s + 1, (n, 2), generator=g),
            cutout=torch.randint(0, size + (1 - self.cut % 2), (n, 2), generator=g),
            flip=u(n) < 0.5,
            scale=(u(n, 2) * (self.scale_ratio - 1.0 / self.scale_ratio) + 1.0 / self.scale_ratio),
            angle=(u(n) - 0.5) * 2 * self.max_angle,
        )

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Non-siamese: one family for the whole batch, independent numbers per image. x: [N,C,H,W]."""
        fam = int(self.families[torch.randint(len(self.families), (1,), generator=generator)])
        p = self.sample(x.shape[0], generator, family=fam)
        return self.apply(x, p)

    # ---------------------------------------------------------------- applying
    def apply(self, x: Tensor, params: DSAParams, groups: Tensor | None = None) -> Tensor:
        """Apply group ``groups[i]``'s transform to ``x[i]`` (``groups=None``: one parameter set per image).

        x: [N,C,H,W]; params: G sets; groups: [N] int64 in [0, G). Loops over families (≤ 6), never over images.
        """
        p = (params.gather(groups.cpu()) if groups is not None else params).to(x.device)
        out = x
        for fam in torch.unique(p.family).tolist():
            idx = (p.family == fam).nonzero().squeeze(1)
            if len(idx) == x.shape[0]:
                return self._apply_family(x, FAMILIES[fam], p)
            sub = self._apply_family(x.index_select(0, idx), FAMILIES[fam], p.gather(idx))
            out = out.index_copy(0, idx, sub)
        return out

    def _apply_family(self, x: Tensor, family: str, p: DSAParams) -> Tensor:
        if family == "color":
            return contrast(saturation(brightness(x, p.brightness), p.saturation), p.contrast)
        if family == "crop":
            return translate(x, p.shift)
        if family == "cutout":
            return cutout(x, p.cutout, self.cut)
        if family == "flip":
            return torch.where(p.flip.view(-1, 1, 1, 1), x.flip(3), x)
        if family == "scale":
            zero = torch.zeros_like(p.angle)
            theta = torch.stack(
                [torch.stack([p.scale[:, 0], zero, zero], 1), torch.stack([zero, p.scale[:, 1], zero], 1)], 1
            )
            return affine(x, theta)
        if family == "rotate":
            c, s, zero = torch.cos(p.angle), torch.sin(p.angle), torch.zeros_like(p.angle)
            theta = torch.stack([torch.stack([c, -s, zero], 1), torch.stack([s, c, zero], 1)], 1)
            return affine(x, theta)
        raise AssertionError(family)


def brightness(x: Tensor, shift: Tensor) -> Tensor:
    """x + shift per image. shift: [N]."""
    return x + shift.view(-1, 1, 1, 1).to(x.dtype)


def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's deviation from its channel mean (no-op for 1 channel)."""
    m = x.mean(dim=1, keepdim=True)
    return (x - m) * factor.view(-1, 1, 1, 1).to(x.dtype) + m


def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each image's deviation from its mean over (C,H,W)."""
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * factor.view(-1, 1, 1, 1).to(x.dtype) + m


def translate(x: Tensor, shift: Tensor) -> Tensor:
    """Integer translation with zero padding: out[i,j] = x[i+dy, j+dx]. shift: [N,2] int64 (dy, dx)."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) + shift[:, 0].view(n, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + shift[:, 1].view(n, 1, 1)
    rows, cols = rows.clamp(-1, h) + 1, cols.clamp(-1, w) + 1  # index into a 1-px zero border
    padded = F.pad(x, (1, 1, 1, 1))
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # [N,H,W,C] -> [N,C,H,W]


def cutout(x: Tensor, centre: Tensor, side: int) -> Tensor:
    """Zero the square [r - side//2, r + side//2) × [c - side//2, c + side//2) (clipped) in every channel."""
    n, _, h, w = x.shape
    r0 = (centre[:, 0] - side // 2).view(n, 1, 1)
    c0 = (centre[:, 1] - side // 2).view(n, 1, 1)
    rr = torch.arange(h, device=x.device).view(1, h, 1)
    cc = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rr >= r0) & (rr < r0 + side) & (cc >= c0) & (cc < c0 + side)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def affine(x: Tensor, theta: Tensor) -> Tensor:
    """Bilinear resampling with per-image 2×3 matrices (normalised coordinates), zero padding."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
