"""Options by their declared types, finite floats, seeds and devices: one readable ConfigError naming the engine
field (never a CLI flag or a widget), before any work."""

from __future__ import annotations

import math

import pytest
import torch

from dd_core.config import (
    MAX_SEED,
    BaselineConfig,
    EvalConfig,
    check_finite,
    check_seed,
    coerce_options,
    config_from,
    field_types,
)
from dd_core.device import pick_device
from dd_core.errors import ConfigError
from dd_core.methods import METHODS, method_config
from dd_core.methods.am import AMConfig
from dd_core.methods.dm import DMConfig
from dd_core.methods.pad import PADConfig
from dd_core.presets import PRESETS
from dd_core.spec import RunConfig


def config_error(fn, *args, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn(*args, **kw)
    err = info.value
    assert "\n" not in str(err) and "--" not in str(err), f"not one engine line: {err}"
    return err


# ------------------------------------------------------------------------------------------- coerce_options
def test_text_is_converted_by_the_declared_types():
    out = coerce_options(
        PADConfig,
        {"ipc": "3", "lr_img": "1e2", "dsa": "false", "scheduler": "1", "net": "none", "masking": "loss"},
    )
    assert out == {"ipc": 3, "lr_img": 100.0, "dsa": False, "scheduler": True, "net": None, "masking": "loss"}
    assert isinstance(out["lr_img"], float) and isinstance(out["ipc"], int)
    assert coerce_options(DMConfig, {"ipc": 4.0, "chunk": "-1", "dsa": 0}) == {"ipc": 4, "chunk": -1, "dsa": False}


@pytest.mark.parametrize(
    "method, options, field, message",
    [
        ("am", {"power": "abc"}, "power", "option 'power' must be a number, got 'abc'"),
        ("dm", {"momentum": "abc"}, "momentum", "option 'momentum' must be a number, got 'abc'"),
        ("dm", {"chunk": "abc"}, "chunk", "option 'chunk' must be a whole number, got 'abc'"),
        ("dm", {"chunk": 2.5}, "chunk", "option 'chunk' must be a whole number, got 2.5"),
        ("dm", {"batch_real": "2.5"}, "batch_real", "must be a whole number"),
        ("dm", {"ipc": "abc"}, "ipc", "option 'ipc' must be a whole number, got 'abc'"),
        ("dm", {"ipc": True}, "ipc", "must be a whole number"),
        ("dm", {"dsa": "maybe"}, "dsa", "option 'dsa' must be true or false"),
        ("dm", {"dsa": 2}, "dsa", "must be true or false"),
        ("dm", {"lr_img": "inf"}, "lr_img", "option 'lr_img' must be a finite number, got inf"),
        ("dm", {"lr_img": math.nan}, "lr_img", "finite"),
        ("am", {"task_balance": "-inf"}, "task_balance", "finite"),
        ("pad", {"momentum_y": "nan"}, "momentum_y", "finite"),
        ("pad", {"masking": "x"}, "masking", "choose one of: depth, loss"),
        ("pad", {"score": 3}, "score", "must be text"),
        ("dm", {"init": "smart"}, "init", "choose one of: real, noise"),
        ("herding", {"pool": "many"}, "pool", "whole number"),
    ],
)
def test_bad_values_name_the_option_and_the_type(method, options, field, message):
    err = config_error(method_config, method, options)
    assert message in str(err) and err.field == field


def test_every_float_field_refuses_non_finite_values():
    for name, method in METHODS.items():
        cls = method.config_cls
        for f, (kind, _) in field_types(cls).items():
            if kind is float:
                for bad in (math.inf, -math.inf, math.nan, "inf"):
                    err = config_error(method_config, name, {f: bad})
                    assert err.field == f and "finite" in str(err), (name, f, bad)


def test_validate_itself_checks_types():
    """The dashboard builds configs directly (cls(**values).validate()): the same checks apply there."""
    err = config_error(AMConfig(power=math.inf).validate)
    assert err.field == "power"
    err = config_error(DMConfig(dsa="maybe").validate)
    assert err.field == "dsa"


def test_presets_go_through_the_same_conversion():
    for methods in PRESETS.values():
        for method, options in methods.items():
            own = {k: v for k, v in options.items() if k in METHODS[method].config_cls.fields()}
            method_config(method, {k: str(v) for k, v in own.items()})  # as text, too


# ------------------------------------------------------------------------------------------- fields everywhere
@pytest.mark.parametrize(
    "method, options, field",
    [
        ("dm", {"ipc": 0}, "ipc"),
        ("dm", {"lr_img": 0}, "lr_img"),
        ("dm", {"momentum": 1.0}, "momentum"),
        ("dm", {"chunk": -2}, "chunk"),
        ("dm", {"bogus": 1}, "bogus"),
        ("dm", {"net": "resnet99"}, "net"),
        ("am", {"task_balance": -1}, "task_balance"),
        ("herding", {"feature_train_size": -1}, "feature_train_size"),
        ("pad", {"batch_syn": -1}, "batch_syn"),
        ("pad", {"depth_ratio": 2.0}, "depth_ratio"),
        ("pad", {"expert_lr": 0}, "expert_lr"),
        ("pad", {"score_models": 0}, "score_models"),
        ("pad", {"init_ratio": 0}, "init_ratio"),
        ("pad", {"max_start_epoch": 40}, "max_start_epoch"),
        ("xx", {}, "method"),
    ],
)
def test_config_errors_carry_their_field(method, options, field):
    assert config_error(method_config, method, options).field == field


def test_check_ipc_names_no_flag(tiny_fashion):
    from dd_core.methods.base import check_ipc

    err = config_error(check_ipc, tiny_fashion, 1000)
    assert err.field == "ipc" and "larger than class" in str(err) and "or less" in str(err)


def test_eval_and_baseline_configs():
    assert config_error(EvalConfig, lr=math.inf).field == "lr"
    assert config_error(EvalConfig, momentum=math.nan).field == "momentum"
    assert config_error(EvalConfig, epochs="abc").field == "epochs"
    assert config_error(BaselineConfig, momentum=math.inf).field == "momentum"
    assert config_error(BaselineConfig, lr="abc").field == "lr"
    assert config_error(BaselineConfig, seed=-1).field == "seed"
    assert "momentum must be in [0, 1)" in str(config_error(BaselineConfig, momentum=1.5))
    assert config_error(config_from, EvalConfig, {"lr_img": 1}, "the evaluation").field == "lr_img"
    assert check_finite("x", 2) == 2.0 and isinstance(check_finite("x", 2), float)


# ------------------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**63, 2**64, 1.5, "7"])
def test_seed_out_of_range_or_not_whole(seed):
    assert config_error(check_seed, "seed", seed).field == "seed"


def test_largest_seed_runs(tiny_fashion):
    """Every seed the check lets through also works where seeds are derived (seed * 1_000_003 + iteration)."""
    from dd_core.methods import build_method

    assert check_seed("seed", MAX_SEED) == MAX_SEED
    m = build_method("dm", tiny_fashion, {"ipc": 1, "batch_real": 4, "net": "convnet-1", "seed": MAX_SEED}, "cpu")
    m.step(0)
    assert config_error(method_config, "dm", {"seed": -1}).field == "seed"


# ------------------------------------------------------------------------------------------- devices
@pytest.mark.parametrize("name", ["foo", "gpu", "cuda:x", "cuda:", "CPU", "cuda:0:1"])
def test_unknown_device_names_the_choices(name):
    err = config_error(pick_device, name)
    assert err.field == "device" and repr(name) in str(err) and "cpu, cuda, cuda:N" in str(err)


def test_missing_gpu_is_a_config_error():
    err = config_error(pick_device, f"cuda:{max(7, torch.cuda.device_count())}")
    assert err.field == "device" and "cuda:" in str(err) and "cpu, cuda, cuda:N" in str(err)


def test_bad_device_from_the_environment(monkeypatch):
    monkeypatch.setenv("DD_DEVICE", "tpu")
    assert config_error(pick_device).field == "device"
    assert pick_device("cpu").type == "cpu"


# ------------------------------------------------------------------------------------------- the run spec
def test_run_config_validates_and_converts_before_any_work():
    cfg = RunConfig(method="dm", method_options={"ipc": "3", "lr_img": "2", "dsa": "0"}, iterations=5).validate()
    assert cfg.method_options == {"ipc": 3, "lr_img": 2.0, "dsa": False}
    assert config_error(RunConfig(device="foo").validate).field == "device"
    assert config_error(RunConfig(method_options={"lr_img": "inf"}).validate).field == "lr_img"
    assert config_error(RunConfig(eval={"lr": math.nan}).validate).field == "lr"
    assert config_error(RunConfig(eval={"nope": 1}).validate).field == "nope"
    assert config_error(RunConfig(kind="baseline", method=None, baseline={"seed": 2**70}).validate).field == "seed"
    assert config_error(RunConfig(kind="baseline", method=None, baseline={"nope": 1}).validate).field == "nope"
    assert config_error(RunConfig(eval_at=["3"], iterations=5).validate).field == "eval_at"
    assert config_error(RunConfig(eval_nets=["resnet99"]).validate).field == "eval_nets"
    ev = RunConfig(kind="evaluate", method="random", method_options={"ipc": 0})
    assert config_error(ev.validate).field == "ipc"
    ev = RunConfig(kind="evaluate", method="random", method_options={"ipc": 2, "seed": -1})
    assert config_error(ev.validate).field == "seed"
    ex = RunConfig(kind="experts", method="pad", method_options={"trajectory_epochs": "abc"})
    assert config_error(ex.validate).field == "trajectory_epochs"
