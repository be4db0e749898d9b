"""PAD and its expert trajectories on a tiny learnable dataset."""

from __future__ import annotations

import pytest
import torch

from dd_core.errors import ConfigError
from dd_core.methods import build_method
from dd_core.methods.experts import ExpertConfig, SchedulerConfig, class_orders, epoch_subset, get_experts

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def shared_experts(tmp_path_factory):
    """One expert folder for the module (built by the first test that needs it, then reused from the cache)."""
    return str(tmp_path_factory.mktemp("experts"))


@pytest.fixture
def opts(shared_experts):
    def make(**kw):
        return pad_opts(experts_path=shared_experts, **kw)

    return make


def pad_opts(**kw):
    base = {
        "ipc": 2,
        "net": "convnet-2",
        "experts": 2,
        "trajectory_epochs": 4,
        "syn_steps": 3,
        "expert_epochs": 1,
        "min_start_epoch": 0,
        "current_max_start_epoch": 1,
        "max_start_epoch": 2,
        "expansion_end": 5,
        "lr_img": 10.0,
        "score_models": 1,
        "score_epochs": 1,
        "seed": 0,
    }
    return {**base, **kw}


def test_experts_are_written_reloaded_and_rebuilt_when_corrupt(tiny_fashion):
    cfg = ExpertConfig(experts=2, epochs=3, scheduler=SchedulerConfig().scaled(3), score_models=1, score_epochs=1)
    events = []
    first = get_experts(tiny_fashion, "convnet-2", cfg, on_event=events.append)
    assert first.built == 2 and len(first) == 2 and first.epochs == 3
    assert first.tensors[0].shape[0] == 4  # init + 3 epochs
    assert any(e.get("phase") == "experts" and e.get("epoch") == 3 for e in events)
    again = get_experts(tiny_fashion, "convnet-2", cfg)
    assert again.built == 0 and torch.equal(again.tensors[1], first.tensors[1])
    victim = first.folder / "expert_001.pt"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # truncated: detected, deleted, rebuilt
    rebuilt = get_experts(tiny_fashion, "convnet-2", cfg)
    assert rebuilt.built == 1 and torch.allclose(rebuilt.tensors[1], first.tensors[1])


def test_scheduler_grows_then_drops_easy_samples():
    orders = [torch.arange(100), torch.arange(100, 200)]
    s = SchedulerConfig(
        init_ratio=0.5,
        add_end_epoch=4,
        rm_epoch_first=6,
        rm_epoch_second=8,
        rm_easy_ratio_first=0.1,
        rm_easy_ratio_second=0.3,
    )
    sizes = [len(epoch_subset(orders, e, s)) // 2 for e in range(11)]
    assert sizes == [50, 62, 75, 87, 100, 100, 100, 90, 90, 70, 70]
    assert int(epoch_subset(orders, 0, s).max()) == 149  # the easiest first (class 1: 100..149)
    assert int(epoch_subset(orders, 10, s).min()) == 30  # the easiest 30 % dropped at the end


def test_class_orders_sort_easiest_first(tiny_fashion):
    scores = torch.rand(len(tiny_fashion.train_labels))
    for members, order in zip(tiny_fashion.class_indices, class_orders(tiny_fashion, scores), strict=False):
        assert sorted(order.tolist()) == sorted(members.tolist())
        assert bool((scores[order].diff() >= 0).all())


def test_matching_loss_uses_only_the_deep_parameters(tiny_fashion, opts):
    m = build_method("pad", tiny_fashion, opts(depth_ratio=0.5), CPU)
    traj = m.experts.tensors[0]
    start, target = traj[0], traj[1]
    student = start + 0.01 * torch.randn_like(start)
    base = m.matching_loss(student, start, target)
    cut = int(m.depth_mask.float().argmax())
    shallow = target.clone()
    shallow[cut // 2] += 5.0  # a masked (shallow) entry of θ_{t+M}
    assert torch.equal(m.matching_loss(student, start, shallow), base)
    deep = target.clone()
    deep[cut + 10] += 5.0
    assert not torch.allclose(m.matching_loss(student, start, deep), base)


def test_loss_masking_option_selects_largest_errors(tiny_fashion, opts):
    m = build_method("pad", tiny_fashion, opts(depth_ratio=0.5, masking="loss"), CPU)
    start = torch.zeros(m.num_params)
    target = torch.ones(m.num_params)
    student = torch.ones(m.num_params)
    student[:10] = 3.0  # 10 entries with error 4, the rest 0: kept, the small ones dropped
    loss = m.matching_loss(student, start, target)
    kept = m.num_params - m.num_params // 2
    assert loss.item() == pytest.approx(40.0 / kept)


def test_gradients_reach_images_soft_labels_and_step_size(tiny_fashion, opts):
    m = build_method("pad", tiny_fashion, opts(), CPU)
    before = (m.images.detach().clone(), m.soft_labels.detach().clone(), m.syn_lr.item())
    metrics = m.step(0)
    assert metrics["skipped"] == 0.0
    assert m.images.grad is not None and m.images.grad.abs().sum() > 0
    assert m.soft_labels.grad is not None and m.soft_labels.grad.abs().sum() > 0
    assert m.syn_lr.grad is not None and m.syn_lr.grad != 0
    assert not torch.equal(before[0], m.images.detach()) and not torch.equal(before[1], m.soft_labels.detach())
    syn = m.synthetic
    assert syn.soft_labels.shape == (20, 10) and syn.lr == pytest.approx(m.syn_lr.item())


def test_a_few_iterations_lower_the_matching_loss(tiny_fashion):
    m = build_method(
        "pad",
        tiny_fashion,
        pad_opts(
            experts=1,
            min_start_epoch=1,
            current_max_start_epoch=1,
            max_start_epoch=1,
            sequential=False,
            dsa=False,
            lr_img=100.0,
            batch_syn=0,
            init="noise",
            threshold=10.0,
        ),
        CPU,
    )
    losses = [m.step(it)["loss"] for it in range(12)]
    assert sum(losses[-3:]) / 3 < 0.9 * sum(losses[:3]) / 3, losses


def test_correct_init_picks_images_the_expert_gets_right(tiny_fashion, opts):
    m = build_method("pad", tiny_fashion, opts(init="correct"), CPU)
    net = m.expert_net(m.experts.tensors[0][-1])
    with torch.no_grad():
        preds = net(m.images.detach()).argmax(1)
    assert (preds == m.labels).float().mean() >= 0.9
    assert bool((m.soft_labels.argmax(1) == m.labels).all())


def test_bad_input(tiny_fashion, tmp_path):
    with pytest.raises(ConfigError, match="beyond the trajectories"):
        build_method("pad", tiny_fashion, pad_opts(max_start_epoch=4, expert_epochs=1), CPU)
    with pytest.raises(ConfigError, match="GiB"):
        build_method("pad", tiny_fashion, pad_opts(syn_steps=10, max_memory_fraction=1e-9), CPU)
    other = build_method("pad", tiny_fashion, pad_opts(net="convnet-1"), CPU)  # experts of another net
    with pytest.raises(ConfigError, match="trained for net"):
        build_method("pad", tiny_fashion, pad_opts(experts_path=str(other.experts.folder)), CPU)
