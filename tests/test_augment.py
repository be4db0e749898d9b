"""DSA: siamese sharing, per-family semantics, differentiability."""

from __future__ import annotations

import math

import pytest
import torch

from dd_core.augment import DSA, FAMILIES, STRATEGY_DIGITS, STRATEGY_NATURAL, translate
from dd_core.errors import ConfigError


def test_same_params_same_transform_on_real_and_synthetic():
    dsa = DSA(STRATEGY_NATURAL, 28)
    g = torch.Generator().manual_seed(0)
    params = dsa.sample(10, g)
    real = torch.randn(10 * 7, 1, 28, 28)
    groups_real = torch.arange(10).repeat_interleave(7)
    # the synthetic batch holds copies of the first 3 real images of each class
    take = torch.cat([torch.arange(c * 7, c * 7 + 3) for c in range(10)])
    syn = real[take].clone()
    groups_syn = torch.arange(10).repeat_interleave(3)
    out_real = dsa.apply(real, params, groups_real)
    out_syn = dsa.apply(syn, params, groups_syn)
    assert torch.allclose(out_real[take], out_syn, atol=1e-6)


def test_different_classes_can_get_different_families():
    dsa = DSA(STRATEGY_NATURAL, 32)
    params = dsa.sample(200, torch.Generator().manual_seed(1))
    assert len(torch.unique(params.family)) == 6


def test_gradients_reach_synthetic_images_for_every_family():
    dsa = DSA(STRATEGY_NATURAL, 32)
    for fam in range(len(FAMILIES)):
        syn = torch.randn(4, 3, 32, 32, requires_grad=True)
        out = dsa.apply(syn, dsa.sample(4, torch.Generator().manual_seed(fam), family=fam))
        out.square().sum().backward()
        assert syn.grad is not None and syn.grad.abs().sum() > 0, FAMILIES[fam]


def test_digits_strategy_has_no_flip():
    dsa = DSA(STRATEGY_DIGITS, 28)
    params = dsa.sample(500, torch.Generator().manual_seed(0))
    assert FAMILIES.index("flip") not in params.family.tolist()


def test_translate_is_an_exact_integer_shift_with_zero_fill():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = translate(x, torch.tensor([[1, -1]]))  # out[i, j] = x[i + 1, j - 1]
    expected = torch.tensor([[0, 4, 5, 6], [0, 8, 9, 10], [0, 12, 13, 14], [0, 0, 0, 0]], dtype=torch.float)
    assert torch.equal(out[0, 0], expected)


def test_family_semantics():
    dsa = DSA(STRATEGY_NATURAL, 28)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, 28, 28)
    # flip: either mirrored or unchanged
    p = dsa.sample(8, g, family=FAMILIES.index("flip"))
    out = dsa.apply(x, p)
    for i in range(8):
        assert torch.equal(out[i], x[i].flip(2) if p.flip[i] else x[i])
    # cutout zeroes a 14x14 square (clipped) and nothing else
    p = dsa.sample(8, g, family=FAMILIES.index("cutout"))
    out = dsa.apply(x, p)
    zeros = (out == 0).all(1).sum(dim=(1, 2))
    assert (zeros <= 14 * 14).all() and (zeros > 0).all()
    # rotation by angle 0 and scale 1 are identities (up to interpolation at exact pixel centres)
    p = dsa.sample(8, g, family=FAMILIES.index("rotate"))
    p.angle.zero_()
    assert torch.allclose(dsa.apply(x, p), x, atol=1e-5)
    # colour ranges
    p = dsa.sample(1000, g)
    assert p.brightness.abs().max() <= 0.5 and p.saturation.min() >= 0 and p.saturation.max() <= 2
    assert p.contrast.min() >= 0.5 and p.contrast.max() <= 1.5
    assert p.shift.abs().max() == 4 and p.angle.abs().max() <= math.radians(15) + 1e-6
    assert p.scale.min() >= 1 / 1.2 - 1e-6 and p.scale.max() <= 1.2 + 1e-6


def test_non_siamese_call_uses_independent_numbers():
    dsa = DSA("crop", 32)
    x = torch.randn(1, 3, 32, 32).expand(64, 3, 32, 32).contiguous()
    out = dsa(x, torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten()[:50].tolist()) for o in out}) > 10


def test_seeded_sampling_is_reproducible():
    dsa = DSA(STRATEGY_NATURAL, 32)
    a = dsa.sample(10, torch.Generator().manual_seed(5))
    b = dsa.sample(10, torch.Generator().manual_seed(5))
    assert all(torch.equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown DSA strategy"):
        DSA("color_blur", 32)
