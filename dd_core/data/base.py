"""Static facts about datasets: ``DatasetMeta``, ``DatasetStatus``, the DSA strategies, the shape options.

No PyTorch here: the dashboard lists datasets (``dataset_status``) before PyTorch is imported. The tensors live in
``RealData`` (``real.py``)."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

from ..errors import ConfigError

DSA_DIGITS = "color_crop_cutout_scale_rotate"  # digits: no flip (a flipped 2 is not a 2)
DSA_NATURAL = "color_crop_cutout_flip_scale_rotate"  # natural / medical images


@dataclass
class DatasetMeta:
    """What a loaded dataset is: shape, classes, the normalisation applied and where it came from."""

    name: str
    channels: int
    image_size: int
    num_classes: int
    class_names: list[str]
    mean: tuple[float, ...]  # per channel, in [0, 1] pixel units
    std: tuple[float, ...]
    source: str  # path(s) or package the pixels were read from
    dsa_strategy: str = DSA_NATURAL

    def to_dict(self) -> dict:
        """Plain types only (lists, str, int, float): safe for JSON and ``torch.load(weights_only=True)``."""
        d = asdict(self)
        d["class_names"] = [str(c) for c in self.class_names]
        d["mean"] = [float(m) for m in self.mean]
        d["std"] = [float(s) for s in self.std]
        return d


@dataclass
class DatasetStatus:
    """Whether a dataset can be used now, from a cheap look at the files (nothing is loaded or downloaded).

    ``status``: 'available' | 'will download' | 'missing'; ``detail``: one line naming the path looked at;
    ``fix``: one line saying what to do when not usable ('' when available)."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def usable(self) -> bool:
        """True when loading can succeed without user action (it may still need the network)."""
        return self.status != "missing"

    def to_dict(self) -> dict:
        return asdict(self)


def check_shape_options(image_size: int | None, channels: int | None) -> None:
    """ConfigError for an image size outside 8..512 or channels other than 1 / 3."""
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or not 8 <= image_size <= 512
    ):
        raise ConfigError(f"image_size must be an integer between 8 and 512, got {image_size!r}")
    if channels is not None and channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
