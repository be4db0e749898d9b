"""DM against the official DM recipe (issue 15): the random network, the embedding and one full update.

The reference here is a plain restatement of the official structure (not its code): a ConvNet built as
conv → nn.GroupNorm(C, C) → ReLU → AvgPool(2) with PyTorch's default init, one class at a time, the loss
Σ_c ‖mean φ(A_c(R_c)) − mean φ(A_c(S_c))‖², and SGD(lr, momentum 0.5) on the pixels, in float64.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dd_core.methods import build_method
from dd_core.methods.base import sample_real_batch
from dd_core.nets import build_net, reinit_

CPU = torch.device("cpu")


def plain_convnet(channels: int = 1, width: int = 128, depth: int = 3) -> nn.Sequential:
    """ConvNet-D as a flat Sequential with nn.GroupNorm(C, C): padding 3 in the first conv for 1-channel 28 px."""
    layers: list[nn.Module] = []
    c_in = channels
    for d in range(depth):
        pad = 3 if (channels == 1 and d == 0) else 1
        layers += [nn.Conv2d(c_in, width, 3, padding=pad), nn.GroupNorm(width, width), nn.ReLU(), nn.AvgPool2d(2, 2)]
        c_in = width
    return nn.Sequential(*layers, nn.Flatten())


def test_reinit_equals_a_freshly_built_net_bit_for_bit(one_thread):
    """reinit_ draws exactly what building a new net draws (same modules, same order, PyTorch defaults), and both
    equal a plain conv/GroupNorm/Linear stack built under the same seed; the bounds are the default init's."""
    torch.manual_seed(7)
    fresh = build_net("convnet-3", 1, 10, 28)
    torch.manual_seed(7)
    plain = plain_convnet()
    plain_fc = nn.Linear(2048, 10)
    net = build_net("convnet-3", 1, 10, 28)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    torch.manual_seed(7)
    reinit_(net)
    for a, b in zip(fresh.parameters(), net.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip([*plain.parameters(), *plain_fc.parameters()], net.parameters(), strict=True):
        assert torch.equal(a, b.reshape(a.shape))
    # kaiming_uniform(a=√5) and the bias init are both U(±1/√fan_in): std bound/√3
    for conv, fan_in in ((net.blocks[0].conv, 9), (net.blocks[1].conv, 1152), (net.blocks[2].conv, 1152)):
        bound = 1 / math.sqrt(fan_in)
        for t in (conv.weight, conv.bias):
            assert t.abs().max() <= bound
        assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_dm_step_matches_the_plain_per_class_reference(tiny_fashion, one_thread):
    """Three DM updates (chunked real forward mixing classes, fused first block, fast inference norm, custom
    channels_last norm backward, vectorised siamese DSA) against the plain per-class float64 reference fed the same
    draws and the same current images: same loss, same gradient, same momentum update."""
    k, ipc, batch = 10, 2, 16
    m = build_method(
        "dm", tiny_fashion, {"ipc": ipc, "batch_real": batch, "seed": 0, "net": "convnet-3", "chunk": 32}, CPU
    )
    lr, mom = m.cfg.lr_img, m.cfg.momentum
    assert (lr, mom) == (1.0, 0.5)
    assert m.dsa.strategy == "color_crop_cutout_flip_scale_rotate"  # the official strategy, flip included
    buf = torch.zeros_like(m.images, dtype=torch.float64)
    for it in range(3):
        state = m.generator.get_state()
        before = m.images.detach().double().clone()
        loss = m.step(it)["loss"]
        g = torch.Generator()
        g.set_state(state)  # replay the iteration's draws: real batch, then one DSA parameter set per class
        real_x, real_groups = sample_real_batch(m.real, batch, g)
        params = m.dsa.sample(k, g)
        plain = plain_convnet().double()
        with torch.no_grad():
            for a, b in zip(plain.parameters(), list(m.model.fresh(it).parameters())[:-2], strict=True):
                a.copy_(b.reshape(a.shape))
        syn = before.clone().requires_grad_(True)
        ref_loss = torch.zeros((), dtype=torch.float64)
        for c in range(k):
            pc = params.gather(torch.tensor([c]))
            r = m.dsa.apply(real_x[real_groups == c].double(), pc, torch.zeros(batch, dtype=torch.long))
            s = m.dsa.apply(syn[c * ipc : (c + 1) * ipc], pc, torch.zeros(ipc, dtype=torch.long))
            with torch.no_grad():
                mean_real = plain(r.contiguous()).mean(0)
            ref_loss = ref_loss + ((mean_real - plain(s.contiguous()).mean(0)) ** 2).sum()
        ref_loss.backward()
        assert loss == pytest.approx(ref_loss.item(), rel=1e-5)
        # SGD with momentum: buf = mom * buf + grad; x -= lr * buf  ->  our gradient from our update
        ours_grad = (before - m.images.detach().double()) / lr - mom * buf
        buf = mom * buf + ours_grad
        # L2, not max: a pixel may differ by ~1e-3 where one ReLU unit sits within fp32 rounding of 0 (its mask
        # flips; instance norm's backward spreads that over the channel); every fp32 implementation, the official
        # one included, differs from float64 that way. A wrong formula or a wrong draw is O(1).
        rel_err = ((ours_grad - syn.grad).norm() / syn.grad.norm()).item()
        assert rel_err < 1e-3, (it, rel_err)


def _restated_benchmark():
    """``benchmarks/dm_official_restated.py`` as a module: its DSA is written apart from ``dd_core.augment``."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "dm_official_restated.py"
    spec = importlib.util.spec_from_file_location("dm_official_restated", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_dsa_equals_the_official_batchwise_draws_for_every_family(one_thread):
    """The official siamese DSA (re-seed before every draw, first sample's values for the whole batch), as the
    restated benchmark writes it, against ``dd_core.augment.DSA.apply`` given those same values: the same output for
    all six families on one class's batch (what the A/B between the two benchmarks rests on)."""
    from dd_core.augment import DSA, FAMILIES, DSAParams

    bench = _restated_benchmark()
    dsa = DSA("color_crop_cutout_flip_scale_rotate", 28)
    x = torch.randn(12, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    seen = set()
    for seed in range(80):
        draw = bench.SeededDraws(seed, x.shape[0])  # replay the benchmark's draws in its order
        family = bench.FAMILIES[draw.integer(0, 6)]
        values = {"brightness": 0.0, "saturation": 1.0, "contrast": 1.0, "shift": [0, 0], "cutout": [0, 0]}
        values.update(flip=False, scale=[1.0, 1.0], angle=0.0)
        if family == "color":
            values.update(brightness=draw.uniform() - 0.5, saturation=2 * draw.uniform(), contrast=draw.uniform() + 0.5)
        elif family == "crop":
            values["shift"] = [draw.integer(-4, 5), draw.integer(-4, 5)]
        elif family == "cutout":
            values["cutout"] = [draw.integer(0, 29), draw.integer(0, 29)]
        elif family == "flip":
            values["flip"] = draw.uniform() < 0.5
        elif family == "scale":
            values["scale"] = [draw.uniform() * (1.2 - 1 / 1.2) + 1 / 1.2 for _ in range(2)]
        else:
            values["angle"] = (draw.uniform() - 0.5) * 2 * math.radians(15.0)
        params = DSAParams(
            family=torch.tensor([FAMILIES.index(family)]),
            brightness=torch.tensor([values["brightness"]]),
            saturation=torch.tensor([values["saturation"]]),
            contrast=torch.tensor([values["contrast"]]),
            shift=torch.tensor([values["shift"]]),
            cutout=torch.tensor([values["cutout"]]),
            flip=torch.tensor([values["flip"]]),
            scale=torch.tensor([values["scale"]]),
            angle=torch.tensor([values["angle"]]),
        )
        ours = dsa.apply(x, params, torch.zeros(x.shape[0], dtype=torch.long))
        official = bench.augment(x, seed)
        # the integer and colour families are exact; scale / rotate build their 2×3 matrix in float32 here and in
        # float64 there (math.cos), which moves the bilinear samples by fp32 rounding (≤ 1e-5 on unit-scale pixels)
        tol = 1e-5 if family in ("scale", "rotate") else 0.0
        where = f"{family} (seed {seed})"
        torch.testing.assert_close(ours, official, atol=tol, rtol=tol, msg=lambda m, where=where: f"{where}: {m}")
        seen.add(family)
    assert seen == set(FAMILIES)  # every family was drawn and compared
