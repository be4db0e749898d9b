"""The dashboard's engine-side helpers: presets of the seed experiments (budgets, MNIST fallback, MHIST path, PAD
gate), attention maps of the Gallery, and the side-by-side helpers' protocol bookkeeping."""

from __future__ import annotations

import pytest
import torch

from dd_core import experiments as ex
from dd_core.methods.attention_maps import attention_maps
from dd_core.spec import RunConfig


@pytest.mark.parametrize("budget", ex.BUDGETS)
def test_every_experiment_is_a_list_of_valid_run_configs(budget, tmp_path):
    (tmp_path / "mhist" / "images").mkdir(parents=True)
    (tmp_path / "mhist" / "annotations.csv").write_text("Image Name,Majority Vote Label,Partition\n")
    for key in ex.EXPERIMENTS:
        p = ex.plan(key, budget=budget, mhist_path=str(tmp_path / "mhist"), mnist_status="available")
        assert p.disabled is None, (key, p.disabled)
        assert p.runs and all(isinstance(c, RunConfig) for c in p.runs)
        for cfg in p.runs:
            cfg.validate()
            assert cfg.label and (cfg.eval is not None or cfg.kind == "baseline")
        assert any(budget.upper() in n for n in p.notes)


def test_cpu_budgets_are_cpu_sized_and_gpu_budgets_are_the_papers():
    for cfg in ex.am_mnist("cpu") + ex.dm_noise("cpu") + ex.am_cross_arch("cpu"):
        assert cfg.iterations <= 300 and cfg.method_options["batch_real"] <= 64
        assert cfg.eval["n_models"] == 1 and cfg.eval["epochs"] <= 150
    assert [c.method_options["init"] for c in ex.am_mnist("gpu")] == ["real", "noise"]
    assert ex.am_mnist("gpu")[0].iterations == 20000 and ex.am_mnist("gpu")[0].eval["protocol"] == "paper"
    assert ex.dm_noise("gpu")[0].eval_at == [0, 500, 1000]
    assert ex.dm_noise("cpu")[0].eval_at == [0, 150, 300]
    assert ex.am_cross_arch("cpu")[0].eval_nets == ["convnet-3", "lenet"]
    assert [c.method_options["init"] for c in ex.pad_init("cpu")] == ["noise", "correct"]
    w = ex.whole_mnist("gpu")[0]
    assert w.kind == "baseline" and w.baseline == {
        "net": "convnet-3",
        "epochs": 20,
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 256,
    }
    assert ex.whole_mhist("gpu", path="/x")[0].baseline["net"] == "convnet-7"
    assert ex.am_mhist("cpu", path="/x")[0].dataset_options == {"image_size": 64, "path": "/x"}


def test_mnist_falls_back_to_mnist5k_and_says_so():
    p = ex.plan("am-mnist", budget="cpu", mnist_status="will download")
    assert {c.dataset for c in p.runs} == {"mnist-5k"}
    assert any("using mnist-5k" in n for n in p.notes)
    p = ex.plan("am-mnist", budget="cpu", mnist_status="available")
    assert {c.dataset for c in p.runs} == {"mnist"} and not any("mnist-5k" in n for n in p.notes)


def test_mhist_presets_need_the_folder_and_show_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("DD_MHIST_DIR", raising=False)
    p = ex.plan("am-mhist", budget="cpu")
    assert p.disabled and "MHIST" in p.disabled and "DD_MHIST_DIR" in p.fix and not p.runs
    p = ex.plan("whole-mhist", budget="cpu", mhist_path=str(tmp_path))
    assert "annotations.csv" in p.disabled


def test_attention_maps_per_block_normalised_and_from_one_net():
    syn, real = torch.randn(3, 1, 28, 28), torch.randn(5, 1, 28, 28)
    s, r = attention_maps(syn, real, "convnet-3", power=1.0, seed=0)
    assert [tuple(m.shape) for m in s] == [(3, 32, 32), (3, 16, 16), (3, 8, 8)]
    assert [tuple(m.shape) for m in r] == [(5, 32, 32), (5, 16, 16), (5, 8, 8)]
    assert torch.allclose(s[0].flatten(1).norm(dim=1), torch.ones(3), atol=1e-5)
    # the same images through the same seeded net give the same maps, whichever side they are on
    s2, r2 = attention_maps(real[:3], syn, "convnet-3", power=1.0, seed=0)
    assert torch.allclose(s2[1], r[1][:3], atol=1e-5) and torch.allclose(r2[2], s[2], atol=1e-5)
    s4, _ = attention_maps(syn, real, "convnet-3", power=4.0, seed=0)
    assert not torch.allclose(s4[0], s[0])
    with pytest.raises(ValueError):
        attention_maps(torch.randn(2, 3, 32, 32), real, "convnet-3")
