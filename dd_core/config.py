"""The validators every layer uses, the evaluation protocols, and the evaluation / whole-dataset configs.

Every check raises :class:`ConfigError` with what is wrong and how to fix it, before any work starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

RUN_KINDS = ("distill", "baseline", "evaluate", "experts")

PROTOCOLS = {  # ALGORITHMS.md §3
    "paper": {"epochs": 1000, "n_models": 5},
    "quick": {"epochs": 300, "n_models": 2},
}


def check_positive(name: str, value: T, *, integer: bool = False) -> T:
    """``value`` if it is > 0 (and an int when ``integer``), else ConfigError."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if not value > 0:  # type: ignore[operator]
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return value


def check_choice(name: str, value: T, choices: Iterable[str]) -> T:
    """``value`` if it is one of ``choices``, else ConfigError listing them."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_schedule(iterations: int, eval_at: list[int]) -> list[int]:
    """Validate the iteration count and the evaluation points (0 = initial set, ≤ iterations); sorted, unique."""
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise ConfigError(f"iterations must be a whole number >= 0, got {iterations!r}")
    bad = [i for i in eval_at if i < 0 or i > iterations]
    if bad:
        raise ConfigError(
            f"evaluation iteration(s) {bad} lie outside the run (0..{iterations}); "
            f"use values between 0 and {iterations}"
        )
    return sorted(set(eval_at))


def default_protocol(device: torch.device | str) -> str:
    """``paper`` on a GPU, ``quick`` on CPU (ALGORITHMS.md §3)."""
    return "paper" if str(device).split(":")[0] == "cuda" else "quick"


@dataclass
class EvalConfig:
    """How fresh networks are trained on a (small) labelled set and tested on the real test set (ALGORITHMS.md §3)."""

    protocol: str = "quick"
    epochs: int = 300
    n_models: int = 2
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    dsa: bool = True
    dsa_strategy: str | None = None  # None: the dataset's strategy

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, [*PROTOCOLS, "custom"])
        check_positive("eval epochs", self.epochs, integer=True)
        check_positive("eval models", self.n_models, integer=True)
        check_positive("eval learning rate", self.lr)
        check_positive("eval batch size", self.batch_size, integer=True)
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"eval momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"eval weight decay must be >= 0, got {self.weight_decay}")

    @classmethod
    def from_protocol(
        cls,
        protocol: str | None = None,
        *,
        device: torch.device | str = "cpu",
        epochs: int | None = None,
        n_models: int | None = None,
        **kw,
    ) -> EvalConfig:
        """A named protocol (default: by device) with optional overrides; overriding makes the name 'custom'
        only if the values differ from the named protocol's."""
        name = protocol or default_protocol(device)
        check_choice("protocol", name, PROTOCOLS)
        base: dict[str, int] = dict(PROTOCOLS[name])
        if epochs is not None:
            base["epochs"] = epochs
        if n_models is not None:
            base["n_models"] = n_models
        if base != PROTOCOLS[name]:
            name = "custom"
        return cls(protocol=name, epochs=base["epochs"], n_models=base["n_models"], **kw)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BaselineConfig:
    """Whole-dataset training (the seed deck's upper bound): SGD + momentum, cosine annealing over all steps."""

    dataset: str = "mnist-5k"
    net: str = "convnet-3"
    epochs: int = 20
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 256
    dsa: bool = False
    seed: int = 0
    dataset_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive("epochs", self.epochs, integer=True)
        check_positive("learning rate", self.lr)
        check_positive("batch size", self.batch_size, integer=True)
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay}")

    def to_dict(self) -> dict:
        return asdict(self)
