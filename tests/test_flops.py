"""Tests for dd_core.flops: the docs/algorithms.md §1 reference FLOP figures, params, training_flops."""

import warnings

import pytest
import torch

from dd_core.errors import ConfigError
from dd_core.flops import CONVENTION, count_flops, training_flops

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    "args,expected",
    [
        (("convnet-3", 1, 10, 28), 49.2e6),
        (("convnet-3", 3, 10, 32), 51.6e6),
        (("convnet-7", 3, 2, 128), 876e6),
    ],
)
def test_reference_flops(args, expected):
    r = count_flops(*args)
    assert abs(r["flops_per_image"] - expected) / expected < 0.01
    assert r["net"] == args[0] and r["channels"] == args[1] and r["image_size"] == args[3]
    assert r["convention"] == CONVENTION
    assert r["by_operator"]["group_norm"] > 0  # instance norm is counted
    assert sum(r["by_operator"].values()) == r["flops_per_image"]
    assert "aten::avg_pool2d" in r["unsupported_ops"]


def test_exact_convnet3_breakdown_and_params():
    r = count_flops("convnet-3", 3, 10, 32)
    assert r["by_operator"] == {"conv": 50_724_864, "group_norm": 860_160, "linear": 20_480}
    assert r["flops_per_image"] == 51_605_504
    assert r["params"] == 320_010
    assert count_flops("convnet-3", 1, 10, 28)["params"] == 317_706
    assert count_flops("convnet-7", 3, 2, 128)["flops_per_image"] == 875_713_280


def test_options_cache_and_isolation():
    bn = count_flops("convnet-3", 3, 10, 32, norm="batch")
    assert "batch_norm" in bn["by_operator"] and "group_norm" not in bn["by_operator"]
    assert bn["net_opts"] == {"norm": "batch"}
    small = count_flops("convnet-3", 3, 10, 32, width=64)
    assert small["flops_per_image"] < 51_605_504 / 3
    a = count_flops("convnet-3", 3, 10, 32)
    a["by_operator"]["conv"] = 0  # callers get a copy, the cache is unaffected
    assert count_flops("convnet-3", 3, 10, 32)["by_operator"]["conv"] == 50_724_864


def test_no_warnings_and_rng_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = count_flops("lenet", 3, 10, 32)
    assert torch.equal(torch.rand(3), expected)
    assert r["flops_per_image"] > 0 and "aten::max_pool2d" in r["unsupported_ops"]


def test_other_nets_counted():
    assert count_flops("mlp", 1, 10, 28)["by_operator"] == {"linear": 784 * 128 + 128 * 128 + 128 * 10}
    r = count_flops("resnet18", 3, 10, 32)
    assert r["params"] == 11_173_962 and r["flops_per_image"] > 5e8


def test_bad_net_raises():
    with pytest.raises(ConfigError):
        count_flops("nope", 3, 10, 32)
    with pytest.raises(ConfigError):
        count_flops("convnet-3", 3, 10, 32, act="gelu")


def test_training_flops():
    assert training_flops(51_605_504, 500, 1000) == 3 * 51_605_504 * 500 * 1000
    assert training_flops(10, 0, 5) == 0
    with pytest.raises(ConfigError):
        training_flops(-1, 1, 1)
    with pytest.raises(ConfigError):
        training_flops(1, 1.5, 1)
