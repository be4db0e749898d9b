"""The run spec: :class:`RunConfig`, everything one job needs as plain types, validated before any work.

Written by a page or the CLI, stored with the run, read by the worker. It sits above the methods (it validates
method options through their registry) and below the jobs that execute it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .config import RUN_KINDS, BaselineConfig, EvalConfig, check_choice, check_schedule
from .data import DATASETS
from .errors import ConfigError


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

    def validate(self) -> RunConfig:
        """Everything checkable without loading data: names, numbers, schedule, method options."""
        # imported here so that building a RunConfig (the home page, the store) never imports PyTorch
        from .methods import method_config
        from .methods.pad import experts_options
        from .nets import check_net_name

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
            if not self.method:
                raise ConfigError("a distill run needs a method", field="method")
            method_config(self.method, self.method_options)
            check_schedule(self.iterations, list(self.eval_at))
        elif self.kind == "experts":
            method_config("pad", experts_options(self.method_options))
        elif self.kind == "baseline":
            BaselineConfig(dataset=self.dataset, **(self.baseline or {}))
        elif self.kind == "evaluate" and not (self.synthetic_path or self.method_options.get("ipc")):
            raise ConfigError("an evaluation needs a synthetic set (synthetic_path) or method 'random' with an ipc")
        for name in self.eval_nets or []:
            check_net_name(name)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown run option(s) {sorted(unknown)}")
        return cls(**data)
