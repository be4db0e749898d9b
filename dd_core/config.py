"""Validated configuration dataclasses shared by the CLI, the worker and the pages.

Every check raises :class:`ConfigError` with what is wrong and how to fix it, before any work starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

PROTOCOLS = {  # ALGORITHMS.md §3
    "paper": {"epochs": 1000, "n_models": 5},
    "quick": {"epochs": 300, "n_models": 2},
}


def check_positive(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ConfigError unless ``value`` > 0 (and an int when ``integer``)."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


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
    ) -> "EvalConfig":
        """A named protocol (default: by device) with optional overrides; overriding makes the name 'custom'
        only if the values differ from the named protocol's."""
        name = protocol or default_protocol(device)
        check_choice("protocol", name, PROTOCOLS)
        base = dict(PROTOCOLS[name])
        if epochs is not None:
            base["epochs"] = epochs
        if n_models is not None:
            base["n_models"] = n_models
        if base != PROTOCOLS[name]:
            name = "custom"
        return cls(protocol=name, **base, **kw)

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


RUN_KINDS = ("distill", "baseline", "evaluate", "experts")


@dataclass
class RunConfig:
    """Everything a job needs, as plain types: written by a page or the CLI, read by the worker.

    ``method_options`` are fields of the method's config (e.g. ipc, init, lr_img, batch_real, power);
    ``eval`` holds EvalConfig fields (None: the device's default protocol); ``baseline`` BaselineConfig fields.
    """

    kind: str = "distill"
    dataset: str = "mnist-5k"
    dataset_options: dict = field(default_factory=dict)  # path / image_size / channels
    method: str | None = "dm"
    method_options: dict = field(default_factory=dict)
    iterations: int = 1000
    eval_at: list = field(default_factory=list)
    eval_nets: list | None = None
    eval: dict | None = None
    baseline: dict | None = None
    synthetic_path: str | None = None  # kind 'evaluate': a saved set (or a run's final set)
    source_run: int | None = None  # kind 'evaluate': the run whose set is evaluated
    device: str | None = None
    label: str | None = None

    def validate(self) -> "RunConfig":
        """Everything checkable without loading data: names, numbers, schedule, method options."""
        from .data import DATASETS

        check_choice("run kind", self.kind, RUN_KINDS)
        check_choice("dataset", self.dataset, DATASETS)
        unknown = set(self.dataset_options) - {"path", "image_size", "channels", "split_ratio"}
        if unknown:
            raise ConfigError(
                f"unknown dataset option(s) {sorted(unknown)}; valid: path, image_size, channels, split_ratio"
            )
        if self.eval is not None:
            EvalConfig(**self.eval)
        if self.kind == "distill":
            from .runner import check_schedule, method_config

            method_config(self.method, self.method_options)
            check_schedule(self.iterations, list(self.eval_at))
        elif self.kind == "experts":
            from .jobs import experts_options
            from .runner import method_config

            method_config("pad", experts_options(self.method_options))
        elif self.kind == "baseline":
            BaselineConfig(dataset=self.dataset, **(self.baseline or {}))
        elif self.kind == "evaluate" and not (self.synthetic_path or self.method_options.get("ipc")):
            raise ConfigError("an evaluation needs a synthetic set (synthetic_path) or method 'random' with an ipc")
        for name in self.eval_nets or []:
            from .nets import check_net_name

            check_net_name(name)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown run option(s) {sorted(unknown)}")
        return cls(**data)
