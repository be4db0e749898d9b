"""Tests for dd_core.nets: shapes, interface contract, parameter order, InstanceNorm == GroupNorm, errors."""

import pytest
import torch
import torch.nn as nn

from dd_core.errors import ConfigError
from dd_core.nets import (
    ACTS,
    NET_NAMES,
    NORMS,
    POOLS,
    InstanceNorm,
    build_net,
    default_net_for,
    net_uses_batchnorm,
    reinit_,
)

pytestmark = pytest.mark.usefixtures("one_thread")


OTHER_NETS = [n for n in NET_NAMES if not n.startswith("convnet")]
INPUTS = [(1, 28), (3, 32), (3, 64), (3, 128)]
K = 7


def _cases():
    for c, s in INPUTS:
        for name in [default_net_for(s), "convnet-3-bn"] + OTHER_NETS:
            if s > 32 and name.endswith("-bn") and (s == 64 or name.startswith("convnet")):
                continue  # keep the suite fast: the -bn twins share the architecture, checked at 28/32/128 px
            yield name, c, s


def _expected_act_shapes(name, c, s):
    s0 = 32 if s == 28 else s
    if name.startswith("convnet"):
        depth = int(name.split("-")[1])
        return [(128, s0 >> i, s0 >> i) for i in range(depth)]
    if name == "lenet":
        h1 = s if s == 28 else s - 4
        return [(6, h1, h1), (16, h1 // 2 - 4, h1 // 2 - 4)]
    if name.startswith("alexnet"):
        return [(128, s0, s0), (192, s0 // 2, s0 // 2)] + [(ch, s0 // 4, s0 // 4) for ch in (256, 192, 192)]
    if name.startswith("vgg11"):
        return [
            (64, s0, s0),
            (128, s0 // 2, s0 // 2),
            (256, s0 // 4, s0 // 4),
            (256, s0 // 4, s0 // 4),
            (512, s0 // 8, s0 // 8),
            (512, s0 // 8, s0 // 8),
            (512, s0 // 16, s0 // 16),
            (512, s0 // 16, s0 // 16),
        ]
    if name.startswith("resnet18"):
        hs = [s]
        for _ in range(3):
            hs.append((hs[-1] + 1) // 2)
        return [(ch, h, h) for ch, h in zip((64, 128, 256, 512), hs, strict=False)]
    if name == "mlp":
        return [(128,), (128,)]
    raise AssertionError(name)


@pytest.mark.parametrize("name,c,s", list(_cases()))
def test_net_contract(name, c, s):
    torch.manual_seed(0)
    net = build_net(name, c, K, s)
    n = 2 if s <= 32 else 1
    x = torch.randn(n, c, s, s, requires_grad=True)
    acts, emb = net.features(x)
    assert emb.shape == (n, net.embed_dim)
    assert len(acts) == net.num_blocks
    assert [tuple(a.shape[1:]) for a in acts] == _expected_act_shapes(name, c, s)
    assert all(a.shape[0] == n for a in acts)
    logits = net.classifier(emb)
    assert logits.shape == (n, K)
    with torch.no_grad():
        e2 = net.embed(x)
        out = net(x)
    torch.testing.assert_close(e2, emb.detach())
    torch.testing.assert_close(out, logits.detach())
    # backward reaches the input (through the logits and through an early activation)
    (logits.square().sum() + acts[0].sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.parameters())


def test_embedding_dims():
    assert build_net("convnet-3", 1, 10, 28).embed_dim == 2048
    assert build_net("convnet-3", 3, 10, 32).embed_dim == 2048
    assert build_net("convnet-4", 3, 200, 64).embed_dim == 2048
    assert build_net("convnet-3", 3, 200, 64).embed_dim == 8192
    assert build_net("convnet-7", 3, 2, 128).embed_dim == 128
    assert build_net("alexnet", 3, 10, 32).embed_dim == 3072
    assert build_net("lenet", 1, 10, 28).embed_dim == 84
    assert build_net("mlp", 1, 10, 28).fc1.in_features == 784


def test_default_net_for():
    assert default_net_for(28) == "convnet-3"
    assert default_net_for(32) == "convnet-3"
    assert default_net_for(64) == "convnet-4"
    assert default_net_for(128) == "convnet-7"


def test_convnet3_cifar_params_and_order():
    net = build_net("convnet-3", 3, 10, 32)
    params = list(net.parameters())
    assert sum(p.numel() for p in params) == 320_010
    expected = [
        (128, 3, 3, 3),
        (128,),
        (128,),
        (128,),
        (128, 128, 3, 3),
        (128,),
        (128,),
        (128,),
        (128, 128, 3, 3),
        (128,),
        (128,),
        (128,),
        (10, 2048),
        (10,),
    ]
    assert [tuple(p.shape) for p in params] == expected
    named = [k for k, _ in net.named_parameters()]
    assert named[:4] == ["blocks.0.conv.weight", "blocks.0.conv.bias", "blocks.0.norm.weight", "blocks.0.norm.bias"]
    assert named[-2:] == ["classifier.weight", "classifier.bias"]
    # flat offsets of docs/algorithms.md §1.1
    offsets = torch.tensor([0] + [p.numel() for p in params]).cumsum(0).tolist()
    assert offsets[:5] == [0, 3456, 3584, 3712, 3840]
    assert offsets[12] == 299520 and offsets[13] == 320000
    assert isinstance(net.blocks[0].norm, nn.GroupNorm)
    assert sum(p.numel() for p in build_net("convnet-3", 3, 100, 32).parameters()) == 504_420


def test_convnet_grayscale_padding_and_depth_errors():
    net = build_net("convnet-3", 1, 10, 28)
    assert net.blocks[0].conv.padding == (3, 3) and net.blocks[1].conv.padding == (1, 1)
    assert build_net("convnet-3", 3, 10, 32).blocks[0].conv.padding == (1, 1)
    build_net("convnet-5", 3, 10, 32)
    with pytest.raises(ConfigError, match="maximum depth for 32 px is 5"):
        build_net("convnet-6", 3, 10, 32)
    with pytest.raises(ConfigError, match="maximum depth for 128 px is 7"):
        build_net("convnet-8", 3, 10, 128)
    assert build_net("convnet-12", 3, 10, 32, pool="none").embed_dim == 128 * 32 * 32
    net = build_net("convnet-10", 3, 5, 1024)  # any convnet-<int> accepted
    assert net.num_blocks == 10


@pytest.mark.parametrize("norm", NORMS)
def test_convnet_norm_options(norm):
    net = build_net("convnet-3", 1, 10, 28, norm=norm, width=16)
    kind = {
        "instance": InstanceNorm,
        "batch": nn.BatchNorm2d,
        "group": nn.GroupNorm,
        "layer": nn.LayerNorm,
        "none": nn.Identity,
    }[norm]
    assert isinstance(net.blocks[0].norm, kind)
    if norm == "group":
        assert net.blocks[0].norm.num_groups == 4
    if norm == "layer":
        assert net.blocks[0].norm.normalized_shape == (16, 32, 32)
        assert net.blocks[2].norm.normalized_shape == (16, 8, 8)
    assert net_uses_batchnorm(net) == (norm == "batch")
    x = torch.randn(3, 1, 28, 28)
    assert net(x).shape == (3, 10)
    n_norm = 0 if norm == "none" else 2 * 3
    assert len(list(net.parameters())) == 2 * 3 + n_norm + 2


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("pool", POOLS)
def test_convnet_act_pool_options(act, pool):
    net = build_net("convnet-2", 3, 4, 32, act=act, pool=pool, width=8)
    x = torch.randn(2, 3, 32, 32)
    acts, emb = net.features(x)
    h = 32 if pool == "none" else 16
    assert acts[1].shape == (2, 8, h, h)
    assert emb.shape == (2, 8 * (h if pool == "none" else 8) ** 2)
    torch.testing.assert_close(net(x), net.classifier(emb))
    if act == "relu":
        assert (acts[0] >= 0).all()


def test_bn_variants_and_uses_batchnorm():
    assert net_uses_batchnorm(build_net("convnet-3-bn", 3, 10, 32))
    assert net_uses_batchnorm(build_net("convnet-3", 3, 10, 32, norm="batch"))
    assert not net_uses_batchnorm(build_net("convnet-3", 3, 10, 32))
    assert net_uses_batchnorm(build_net("vgg11-bn", 3, 10, 32))
    assert net_uses_batchnorm(build_net("resnet18-bn", 3, 10, 32))
    assert net_uses_batchnorm(build_net("alexnet-bn", 3, 10, 32))
    assert not net_uses_batchnorm(build_net("resnet18", 3, 10, 32))
    assert isinstance(build_net("vgg11", 3, 10, 32).norms[0], InstanceNorm)
    assert isinstance(build_net("resnet18", 3, 10, 32).bn1, InstanceNorm)


def test_reinit_changes_weights():
    net = build_net("convnet-3-bn", 3, 10, 32)
    before = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net.blocks[0].norm.running_mean.fill_(3.0)
    assert reinit_(net) is net
    after = list(net.parameters())
    convs = [0, 1, 4, 5, 8, 9, 12, 13]  # conv / fc weights and biases: fresh random values
    for i in convs:
        assert not torch.equal(before[i], after[i])
    for i in (2, 6, 10):  # norm weights back to 1, biases to 0
        assert torch.equal(after[i], torch.ones_like(after[i]))
        assert torch.equal(after[i + 1], torch.zeros_like(after[i + 1]))
    assert torch.equal(net.blocks[0].norm.running_mean, torch.zeros(128))
    w0 = net.blocks[0].conv.weight.detach().clone()
    reinit_(net)
    assert not torch.equal(w0, net.blocks[0].conv.weight)


def test_bad_names_and_options():
    with pytest.raises(ConfigError, match="resnet18-bn") as ei:
        build_net("resnet50", 3, 10, 32)
    assert "convnet-3" in str(ei.value) and "lenet" in str(ei.value)
    with pytest.raises(ConfigError, match="instance, batch, group, layer, none"):
        build_net("convnet-3", 3, 10, 32, norm="weird")
    with pytest.raises(ConfigError, match="relu, leakyrelu, swish, sigmoid"):
        build_net("convnet-3", 3, 10, 32, act="gelu")
    with pytest.raises(ConfigError, match="avg, max, none"):
        build_net("convnet-3", 3, 10, 32, pool="sum")
    with pytest.raises(ConfigError):
        build_net("convnet-0", 3, 10, 32)
    with pytest.raises(ConfigError):
        build_net("lenet-bn", 3, 10, 32)
    with pytest.raises(ConfigError):
        build_net("convnet-3", 3, 10, 32, width=0)
    with pytest.raises(ConfigError):
        build_net("convnet-3", 0, 10, 32)
    with pytest.raises(ConfigError, match="only available for the ConvNet"):
        build_net("vgg11", 3, 10, 32, norm="layer")
    assert isinstance(build_net("ConvNet-3", 3, 10, 32), nn.Module)  # case-insensitive


# ---------------------------------------------------------------------------------------------------------------
# InstanceNorm == nn.GroupNorm(C, C)
# ---------------------------------------------------------------------------------------------------------------


def _pair(c, dtype=torch.float32):
    torch.manual_seed(1)
    m = InstanceNorm(c).to(dtype)
    with torch.no_grad():
        m.weight.uniform_(0.5, 1.5)
        m.bias.normal_()
    g = nn.GroupNorm(c, c, eps=1e-5, affine=True).to(dtype)
    g.load_state_dict(m.state_dict())
    return m, g


def test_instance_norm_defaults_match_groupnorm():
    m, g = InstanceNorm(16), nn.GroupNorm(16, 16)
    assert isinstance(m, nn.GroupNorm)
    assert m.eps == g.eps == 1e-5 and m.affine and m.num_groups == 16
    assert torch.equal(m.weight, g.weight) and torch.equal(m.bias, g.bias)
    assert list(m.state_dict()) == list(g.state_dict())


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_instance_norm_equals_groupnorm(layout, dtype):
    c = 32
    m, g = _pair(c, dtype)
    x0 = torch.randn(6, c, 12, 12, dtype=dtype) * 2 + 0.5
    xa = x0.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else x0.clone()
    xa.requires_grad_(True)
    xb = x0.clone().requires_grad_(True)
    gy = torch.randn_like(x0)
    ya, yb = m(xa), g(xb)
    if layout == "channels_last":
        assert type(ya.grad_fn).__name__.startswith("_InstanceNormNHWC")  # the fast path is exercised
    ya.backward(gy)
    yb.backward(gy)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ya, yb, **tol)
    torch.testing.assert_close(xa.grad, xb.grad, **tol)
    torch.testing.assert_close(m.weight.grad, g.weight.grad, **tol)
    torch.testing.assert_close(m.bias.grad, g.bias.grad, **tol)
    with torch.inference_mode():
        torch.testing.assert_close(m(xa.detach()), g(x0), **tol)


def test_instance_norm_double_backward_channels_last():
    """create_graph=True through the fast path (trajectory / gradient matching) gives GroupNorm's 2nd-order grads."""
    c = 8
    m, g = _pair(c, torch.float64)
    x0 = torch.randn(3, c, 5, 5, dtype=torch.float64)
    gy = torch.randn_like(x0)
    res = []
    for mod, x in ((m, x0.contiguous(memory_format=torch.channels_last)), (g, x0.clone())):
        x = x.requires_grad_(True)
        y = mod(x)
        gx, gw = torch.autograd.grad((y * gy).sum(), (x, mod.weight), create_graph=True)
        loss = (gx**2).sum() + (gw**3).sum()
        res.append(torch.autograd.grad(loss, (x, mod.weight, mod.bias), allow_unused=True))
    for a, b in zip(*res, strict=False):  # None (unused) and an all-zero gradient are the same thing
        a = torch.zeros(c, dtype=torch.float64) if a is None else a
        b = torch.zeros(c, dtype=torch.float64) if b is None else b
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    x = x0.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda t: m(t), (x,))


def test_convnet_channels_last_128_images():
    """A ConvNet-3 forward/backward on 128 channels_last images equals the contiguous one. In float32 a handful of
    ReLU masks may flip (different conv kernels round differently), so gradients are compared tightly in float64
    (which runs the same code paths, on 16 images to keep it fast) and loosely in float32."""
    torch.manual_seed(0)
    net = build_net("convnet-3", 3, 10, 32)
    x = torch.randn(128, 3, 32, 32)
    y = torch.randint(0, 10, (128,))
    for dtype, n, tol, gtol in ((torch.float32, 128, 1e-4, 1e-2), (torch.float64, 16, 1e-10, 1e-10)):
        net = net.to(dtype)
        xd = x[:n].to(dtype)
        y = y[:n]
        xcl = xd.contiguous(memory_format=torch.channels_last)
        assert not xcl.is_contiguous()
        outs, grads = [], []
        for inp in (xd, xcl):
            net.zero_grad()
            out = net(inp)
            nn.functional.cross_entropy(out, y).backward()
            outs.append(out.detach())
            grads.append([p.grad.clone() for p in net.parameters()])
        torch.testing.assert_close(outs[0], outs[1], rtol=tol, atol=tol)
        for a, b in zip(*grads, strict=False):
            assert (a - b).norm() <= gtol * b.norm() + 1e-7
        with torch.inference_mode():
            torch.testing.assert_close(net(xcl), outs[0], rtol=tol, atol=tol)
            acts, emb = net.features(xcl)
            torch.testing.assert_close(net.classifier(emb), outs[0], rtol=tol, atol=tol)
        assert acts[0].shape == (n, 128, 32, 32)


def test_channels_last_norm_precision():
    """PyTorch's NHWC CPU group-norm kernel loses precision for large mean/std; ours must not."""
    torch.manual_seed(0)
    x = torch.randn(4, 16, 16, 16) * 0.5 + 20.0
    xcl = x.contiguous(memory_format=torch.channels_last)
    for m in (InstanceNorm(16), build_net("convnet-1", 16, 2, 16, norm="group", width=16).blocks[0].norm):
        ref = m.double()(x.double()).float()
        m.float()
        with torch.no_grad():
            torch.testing.assert_close(m(xcl), ref, rtol=1e-4, atol=1e-4)
        xg = xcl.clone().requires_grad_(True)
        torch.testing.assert_close(m(xg), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,c,s", [("convnet-3", 1, 28), ("convnet-3", 3, 32), ("convnet-4", 3, 64)])
def test_fused_first_block_matches_conv_then_norm(name, c, s):
    """With set_fast_inference_norm, a gradient-free forward computes block 1 as one per-image matrix product
    (conv_instance_norm); it equals conv → instance norm, and anything needing gradients keeps the plain path."""
    from dd_core.nets import conv_instance_norm, set_fast_inference_norm

    torch.manual_seed(0)
    net = build_net(name, c, 10, s).double()
    x = torch.randn(6, c, s, s, dtype=torch.float64)
    block = net.blocks[0]
    with torch.no_grad():
        ref_acts, ref_emb = net.features(x)
        torch.testing.assert_close(
            conv_instance_norm(x, block.conv, block.norm), block.norm(block.conv(x)), rtol=1e-10, atol=1e-10
        )
        set_fast_inference_norm(net)
        acts, emb = net.features(x)
    torch.testing.assert_close(emb, ref_emb, rtol=1e-6, atol=1e-6)  # later blocks use the fast NHWC kernel
    torch.testing.assert_close(acts[0], ref_acts[0], rtol=1e-10, atol=1e-10)
    assert acts[0].is_contiguous(memory_format=torch.channels_last)
    xg = x.clone().requires_grad_(True)
    net.embed(xg).sum().backward()  # the gradient path is the plain conv → norm
    assert xg.grad is not None and torch.isfinite(xg.grad).all()
