"""The run spec: :class:`RunConfig`, everything one job needs as plain types, validated before any work.

Written by a page or the CLI, stored with the run, read by the worker. It sits above the methods (it validates
method options through their registry) and below the jobs that execute it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .config import (
    RUN_KINDS,
    BaselineConfig,
    EvalConfig,
    check_choice,
    check_device_name,
    check_schedule,
    coerce_options,
    config_from,
)
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
    reference: bool = True  # put the random-real reference beside every evaluation (docs/algorithms.md §3)
    sweep: dict | None = None  # kind 'sweep': {"sweep_id", "address", "cpus_per_trial", "gpus_per_trial", ...}

    def validate(self) -> RunConfig:
        """Everything checkable without loading data: names, numbers, schedule, method options (converted in place
        to their declared types, so the stored spec holds typed values). Returns ``self``."""
        # imported here so that building a RunConfig (the home page, the store) never imports PyTorch
        from .methods import METHODS, method_config
        from .methods.pad import PADConfig, experts_options
        from .nets import check_net_name

        check_choice("run kind", self.kind, RUN_KINDS, field="kind")
        check_choice("dataset", self.dataset, DATASETS)
        unknown = set(self.dataset_options) - {"path", "image_size", "channels", "split_ratio"}
        if unknown:
            raise ConfigError(
                f"unknown dataset option(s) {sorted(unknown)}; valid: path, image_size, channels, split_ratio",
                field="dataset_options",
            )
        check_device_name(self.device)
        if self.eval is not None:
            config_from(EvalConfig, self.eval, "the evaluation")
        if self.kind == "distill":
            if not self.method:
                raise ConfigError("a distill run needs a method", field="method")
            method_config(self.method, self.method_options)
            self.method_options = coerce_options(METHODS[self.method].config_cls, self.method_options)
            check_schedule(self.iterations, list(self.eval_at))
        elif self.kind == "experts":
            self.method_options = coerce_options(PADConfig, self.method_options)
            method_config("pad", experts_options(self.method_options))
        elif self.kind == "baseline":
            config_from(BaselineConfig, self.baseline or {}, "whole-dataset training", dataset=self.dataset)
        elif self.kind == "sweep":
            self.sweep = check_sweep_job(self.sweep)
        elif self.kind == "evaluate":
            if not self.synthetic_path and self.method_options.get("ipc") is None:
                raise ConfigError(
                    "an evaluation needs a synthetic set (synthetic_path) or method 'random' with an ipc",
                    field="synthetic_path",
                )
            if self.method == "random":
                method_config("random", self.method_options)
                self.method_options = coerce_options(METHODS["random"].config_cls, self.method_options)
        for name in self.eval_nets or []:
            try:
                check_net_name(name)
            except ConfigError as err:
                err.field = err.field or "eval_nets"
                raise
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown run option(s) {sorted(unknown)}", field=sorted(unknown)[0])
        return cls(**data)


# the ``sweep`` part of a sweep's driver job (dd_core/sweeps/job.py)
SWEEP_JOB_KEYS = ("sweep_id", "address", "cpus_per_trial", "gpus_per_trial", "ray_dashboard")


def check_resources(cpus_per_trial: float | None, gpus_per_trial: float | None) -> None:
    """ConfigError naming the flag when a value is out of range (before Ray starts)."""
    if cpus_per_trial is not None and not (isinstance(cpus_per_trial, int | float) and cpus_per_trial > 0):
        raise ConfigError(f"--cpus-per-trial {cpus_per_trial}: must be > 0 (e.g. 1 or 2)", field="cpus_per_trial")
    if gpus_per_trial is not None and not (isinstance(gpus_per_trial, int | float) and gpus_per_trial >= 0):
        raise ConfigError(
            f"--gpus-per-trial {gpus_per_trial}: must be >= 0 (fractions share a GPU, e.g. 0.5)", field="gpus_per_trial"
        )


def check_sweep_job(job: dict | None) -> dict:
    """The ``sweep`` part of a driver job, checked: ``{"sweep_id": int, "address": str | None, "cpus_per_trial":
    float | None, "gpus_per_trial": float, "ray_dashboard": bool}``."""
    if not isinstance(job, dict) or not isinstance(job.get("sweep_id"), int) or job["sweep_id"] < 1:
        raise ConfigError("a sweep job needs the id of its sweep (sweep.sweep_id)", field="sweep")
    unknown = set(job) - set(SWEEP_JOB_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown sweep job option(s) {sorted(unknown)}; valid: {', '.join(SWEEP_JOB_KEYS)}", field="sweep"
        )
    out = {"address": None, "cpus_per_trial": None, "gpus_per_trial": 0.0, "ray_dashboard": False, **job}
    check_resources(out["cpus_per_trial"], out["gpus_per_trial"])
    if out["address"] is not None and not isinstance(out["address"], str):
        raise ConfigError("sweep.address: give auto, HOST:PORT or ray://HOST:PORT", field="address")
    return out
