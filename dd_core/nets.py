"""The network zoo: ConvNet-D, LeNet, AlexNet, VGG11, ResNet18 and MLP (ALGORITHMS.md §1, ALGORITHMS-DETAIL §1).

Every network built by :func:`build_net` exposes the same interface:

* ``forward(x) -> logits [N, K]``;
* ``embed(x) -> [N, F]``: the penultimate features, i.e. the input of the final ``Linear`` (for ConvNet-D the
  flattened output of the last block);
* ``classifier``: the final ``nn.Linear``, so that ``forward(x) == classifier(embed(x))``;
* ``features(x) -> (acts, emb)``: the activation output of every block (after the activation, before any pooling —
  what attention matching reads) and the embedding, computed in ONE forward pass (no hooks, no clones);
* ``num_blocks``: ``len(acts)``; ``embed_dim``: ``F``.

``list(net.parameters())`` is in layer order, shallow first (conv1.w, conv1.b, norm1.w, norm1.b, conv2.w, ...,
fc.w, fc.b), which PAD's depth masking relies on.

Grayscale 28 px handling (ALGORITHMS-DETAIL §1.7) is keyed on ``image_size == 28`` (whatever the channel count):
ConvNet and VGG use padding 3 in the first conv (28 -> 32), AlexNet padding 4 (k5, 28 -> 32), LeNet padding 2
(28 -> 28); ResNet18 and MLP need nothing.

Instance norm is :class:`InstanceNorm`, a drop-in ``nn.GroupNorm(C, C, eps=1e-5, affine=True)`` (it *is* a
GroupNorm subclass, same parameters and init) that is exact and faster on channels_last CPU tensors. All nets accept
contiguous or channels_last input. On CPU, channels_last RGB input is the fastest layout for ConvNet training
(2 cores, ConvNet-3, 256 CIFAR images fwd+bwd: 529 ms channels_last vs 638 ms contiguous; 10 images: 15.7 vs
17.0 ms). 1-channel input cannot be channels_last (ambiguous strides), so grayscale nets run NCHW.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from dd_core.errors import ConfigError

__all__ = [
    "NET_NAMES",
    "NORMS",
    "ACTS",
    "POOLS",
    "build_net",
    "default_net_for",
    "net_uses_batchnorm",
    "reinit_",
    "InstanceNorm",
    "ConvNet",
    "LeNet",
    "AlexNet",
    "VGG11",
    "ResNet18",
    "MLP",
]

NET_NAMES: tuple[str, ...] = tuple(f"convnet-{d}" for d in range(1, 9)) + (
    "lenet",
    "alexnet",
    "alexnet-bn",
    "vgg11",
    "vgg11-bn",
    "resnet18",
    "resnet18-bn",
    "mlp",
)
"""Names shown to users. Also accepted: any ``convnet-<int>``, ``convnet`` (= convnet-3) and a ``-bn`` suffix on
``convnet-<int>`` (e.g. ``convnet-3-bn`` = ConvNet-3 with batch norm; the suffix overrides the ``norm`` option)."""

NORMS: tuple[str, ...] = ("instance", "batch", "group", "layer", "none")
ACTS: tuple[str, ...] = ("relu", "leakyrelu", "swish", "sigmoid")
POOLS: tuple[str, ...] = ("avg", "max", "none")

_EPS = 1e-5


# ----------------------------------------------------------------------------------------------------------------
# Instance norm
# ----------------------------------------------------------------------------------------------------------------


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def _nhwc_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float):
    """Instance norm of a channels_last tensor with exact two-pass statistics, one output allocation and no autograd
    graph. Returns ``(y, mean [N,C,1,1], rstd [N,C,1,1])``."""
    c = x.shape[1]
    mean = x.mean((2, 3), keepdim=True)
    y = torch.empty_like(x, memory_format=torch.channels_last)
    torch.sub(x, mean, out=y)
    var = y.square_().mean((2, 3), keepdim=True)  # centred second moment: no E[x²]-E[x]² cancellation
    rstd = torch.rsqrt(var + eps)
    scale = rstd * weight.view(1, c, 1, 1)
    shift = bias.view(1, c, 1, 1) - mean * scale
    torch.addcmul(shift, x, scale, out=y)
    return y, mean, rstd


class _InstanceNormNHWC(torch.autograd.Function):
    """Instance norm (= group_norm with C groups) for channels_last CPU tensors: exact forward statistics and a
    hand-written, allocation-light backward.

    Why: PyTorch's CPU group-norm kernel for channels_last computes the variance as E[x²]-E[x]² in fp32 (error
    ~6e-4 for activations with mean/std ≈ 10, ~1e-2 at 40, against ~1e-6 for the NCHW kernel), and its NHWC
    backward is ~2x slower than the NCHW one. Forward: see :func:`_nhwc_forward`. Backward, with ``g = dy``,
    ``xc = x - μ``, r = 1/σ, per (n, c): ``db = Σ_hw g``, ``dsc = Σ_hw g·xc`` (computed on the centred values),
    ``dw = Σ_n dsc·r``, ``dbias = Σ_n db``, ``dx = g·A + x·B + (C - B·μ)`` with ``A = r·w``,
    ``B = -A·r²·dsc/HW``, ``C = -A·db/HW``.
    When a double backward is requested (``create_graph=True``, e.g. trajectory / gradient matching) the backward
    instead evaluates the same formula with differentiable ops, recomputing μ and σ from ``x``, so second-order
    gradients are exact.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        y, mean, rstd = _nhwc_forward(x, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.eps = eps
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, mean, rstd = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        c = x.shape[1]
        hw = x.shape[2] * x.shape[3]
        if torch.is_grad_enabled():  # create_graph=True: differentiable (slower) formula
            var, mu = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
            r = torch.rsqrt(var + ctx.eps)
            xhat = (x - mu) * r
            gx = gw = gb = None
            if need_w:
                gw = (gy * xhat).sum((0, 2, 3))
            if need_b:
                gb = gy.sum((0, 2, 3))
            if need_x:
                g = gy * weight.view(1, c, 1, 1)
                gx = r * (g - g.mean((2, 3), keepdim=True) - xhat * (g * xhat).mean((2, 3), keepdim=True))
            return gx, gw, gb, None
        gy = gy.contiguous(memory_format=torch.channels_last)
        buf = torch.empty_like(x, memory_format=torch.channels_last)
        db = gy.sum((2, 3), keepdim=True)
        torch.sub(x, mean, out=buf)
        dsc = buf.mul_(gy).sum((2, 3), keepdim=True)  # Σ g·(x - μ)
        gw = (dsc * rstd).sum((0, 2, 3)) if need_w else None
        gb = db.sum((0, 2, 3)) if need_b else None
        gx = None
        if need_x:
            a = rstd * weight.view(1, c, 1, 1)
            b = -a * rstd * rstd * dsc / hw
            cst = -a * db / hw - b * mean
            torch.addcmul(cst, gy, a, out=buf)
            gx = buf.addcmul_(x, b)
        return gx, gw, gb, None


class InstanceNorm(nn.GroupNorm):
    """Instance norm with learnable affine = ``nn.GroupNorm(C, C, eps=1e-5, affine=True)`` exactly (same function,
    same ``weight``/``bias`` of shape [C], same init 1/0, same state_dict keys; ``isinstance(m, nn.GroupNorm)``).

    Dispatch: contiguous input (and any CUDA input) → ``F.group_norm``, which was the fastest of the alternatives
    measured for NCHW on CPU (F.instance_norm, var_mean-based, layer_norm over (H,W), batch_norm on a reshaped
    view, custom autograd Functions). 4-D channels_last CPU input → :class:`_InstanceNormNHWC` (or its forward
    alone when no gradient is needed): PyTorch's NHWC CPU group-norm kernel is imprecise (E[x²]-E[x]²) and its
    backward slow; this path is exact and faster ([256,128,32,32] NHWC on 2 CPU cores, fwd+bwd 122 ms vs 176 ms
    for nn.GroupNorm; [10,128,32,32]: 1.8 ms vs 3.6 ms). In the rare cases the custom path cannot serve (autocast, torch.func transforms, no affine, dtype
    mismatch) channels_last CPU input goes through ``F.instance_norm`` (exact, slower). JIT tracing (fvcore)
    always sees ``aten::group_norm``.
    """

    fast_inference = False  # set per net with set_fast_inference_norm()

    def __init__(self, num_channels: int, eps: float = _EPS, affine: bool = True, device=None, dtype=None):
        super().__init__(num_channels, num_channels, eps=eps, affine=affine, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and _is_channels_last(x) and not torch.jit.is_tracing():
            w, b = self.weight, self.bias
            if (
                self.affine
                and x.dtype == w.dtype
                and not torch.is_autocast_enabled("cpu")
                and not torch._C._are_functorch_transforms_active()
            ):
                if torch.is_grad_enabled() and (x.requires_grad or w.requires_grad or b.requires_grad):
                    return _InstanceNormNHWC.apply(x, w, b, self.eps)
                if self.fast_inference:  # single-pass fused kernel, ~3x faster; see set_fast_inference_norm
                    return F.group_norm(x, self.num_groups, w, b, self.eps)
                return _nhwc_forward(x, w, b, self.eps)[0]
            return F.instance_norm(x, None, None, w, b, True, 0.0, self.eps)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, eps={self.eps}, affine={self.affine}"


def conv_instance_norm(x: torch.Tensor, conv: nn.Conv2d, norm: InstanceNorm) -> torch.Tensor:
    """``norm(conv(x))`` for a gradient-free forward, as ONE per-image matrix product (exact up to fp32 rounding).

    The conv is linear in the patches: with ``P_n`` [L, D] the (padded) 3×3 patches of image n (D = C_in·9, L = H·W
    output pixels), ``y_nc = P_n w_c + b_c``. Its instance-norm statistics follow from the patches alone:
    ``μ_nc = m_n·w_c + b_c`` and ``σ²_nc = w_cᵀ Σ_n w_c`` with ``m_n`` the mean patch and ``Σ_n`` the D×D covariance of
    the centred patches. So ``norm(conv(x))_nc = P_n (γ_c r_nc w_c) + (β_c − γ_c r_nc m_n·w_c)`` with
    ``r_nc = 1/√(σ²_nc + ε)``: one ``baddbmm`` writing the normalised map straight in channels_last layout,
    instead of a conv writing it, a norm reading it twice and writing it again. Worth it where D is small (the
    first block: D = 9 or 27) and the map large; measured on 2 CPU cores, Fashion-MNIST ConvNet-3 block 1 in chunks
    of 32: 361 ms vs 495 ms per 2,560 images (conv → norm → ReLU → pool). Returns a channels_last [N, C_out, H, W].
    """
    n = x.shape[0]
    p = F.unfold(x, conv.kernel_size, padding=conv.padding)  # [N, D, L]
    h = x.shape[2] + 2 * conv.padding[0] - conv.kernel_size[0] + 1
    w = x.shape[3] + 2 * conv.padding[1] - conv.kernel_size[1] + 1
    mean_patch = p.mean(2)  # [N, D]
    centred = p - mean_patch[:, :, None]
    cov = torch.bmm(centred, centred.transpose(1, 2)).div_(p.shape[2])  # [N, D, D]
    weight = conv.weight.reshape(conv.out_channels, -1)  # [C_out, D]
    var = torch.einsum("cd,nde,ce->nc", weight, cov, weight)  # [N, C_out]
    scale = norm.weight * torch.rsqrt(var + norm.eps)  # γ_c r_nc
    shift = norm.bias - scale * (mean_patch @ weight.t())  # conv bias cancels in the norm
    out = torch.baddbmm(shift[:, None, :], p.transpose(1, 2), weight.t()[None] * scale[:, None, :])  # [N, L, C_out]
    return out.view(n, h, w, conv.out_channels).permute(0, 3, 1, 2)


def _can_fuse_first_block(x: torch.Tensor, conv: nn.Module, norm: nn.Module) -> bool:
    """The fused path serves gradient-free CPU forwards of nets flagged by :func:`set_fast_inference_norm`."""
    return (
        isinstance(norm, InstanceNorm)
        and norm.fast_inference
        and norm.affine
        and x.device.type == "cpu"
        and x.dim() == 4
        and not torch.jit.is_tracing()
        and isinstance(conv, nn.Conv2d)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and isinstance(conv.padding, tuple)
        and conv.padding_mode == "zeros"
        and x.dtype == conv.weight.dtype
        and not (
            torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad or norm.weight.requires_grad)
        )
        and not torch.is_autocast_enabled("cpu")
        and not torch._C._are_functorch_transforms_active()
    )


class _GroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` that hands channels_last CPU input to the (exact) NCHW kernel: PyTorch's NHWC CPU kernel
    computes E[x²]-E[x]² in fp32 (error ~1e-4 at mean/std ≈ 10). Costs one copy; 'group' is not a default norm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and _is_channels_last(x):
            x = x.contiguous()
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------


def _check_choice(what: str, value, choices) -> str:
    v = value.strip().lower() if isinstance(value, str) else value
    if v not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return v


def _check_pos_int(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return value


def _norm2d(norm: str, c: int, hw: tuple[int, int] | None = None) -> nn.Module:
    if norm == "instance":
        return InstanceNorm(c)
    if norm == "batch":
        return nn.BatchNorm2d(c)
    if norm == "group":
        return _GroupNorm(math.gcd(4, c), c)
    if norm == "layer":
        assert hw is not None
        return nn.LayerNorm([c, hw[0], hw[1]], elementwise_affine=True)
    return nn.Identity()


def _act(act: str) -> nn.Module:
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "leakyrelu":
        return nn.LeakyReLU(0.01, inplace=True)
    if act == "swish":
        return nn.SiLU()
    return nn.Sigmoid()


class _Net(nn.Module):
    """Shared interface. Subclasses implement ``_run(x, acts)`` returning the embedding and appending each block's
    activation to ``acts`` when it is a list."""

    num_blocks: int
    embed_dim: int
    classifier: nn.Linear

    def _run(self, x: torch.Tensor, acts: list | None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self._run(x, None))

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        acts: list[torch.Tensor] = []
        emb = self._run(x, acts)
        return acts, emb


# ----------------------------------------------------------------------------------------------------------------
# ConvNet-D
# ----------------------------------------------------------------------------------------------------------------


class _ConvBlock(nn.Module):
    def __init__(self, conv: nn.Conv2d, norm: nn.Module, act: nn.Module, pool: nn.Module):
        super().__init__()
        self.conv, self.norm, self.act, self.pool = conv, norm, act, pool


class ConvNet(_Net):
    """ConvNet-D: D × [Conv3×3(width, pad 1; pad 3 for the first conv on 28 px) → norm → act → 2×2 pool],
    flatten → Linear. ``embed`` is the flattened output of the last block (width·h·w features, 2048 for ConvNet-3 on
    28/32 px); ``features`` returns each block's activation before pooling. Submodules: ``blocks[i].conv/.norm/
    .act/.pool`` and ``classifier``.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: int,
        depth: int = 3,
        width: int = 128,
        norm: str = "instance",
        act: str = "relu",
        pool: str = "avg",
    ):
        super().__init__()
        h = image_size
        blocks = []
        c_in = channels
        for d in range(depth):
            pad = 3 if (d == 0 and image_size == 28) else 1
            h = h + 2 * pad - 2
            conv = nn.Conv2d(c_in, width, kernel_size=3, padding=pad)
            nrm = _norm2d(norm, width, (h, h))
            pl = nn.Identity()
            if pool != "none":
                pl = nn.AvgPool2d(2, 2) if pool == "avg" else nn.MaxPool2d(2, 2)
                h //= 2
            blocks.append(_ConvBlock(conv, nrm, _act(act), pl))
            c_in = width
        self.blocks = nn.ModuleList(blocks)
        self.depth = depth
        self.num_blocks = depth
        self.out_hw = h
        self.embed_dim = width * h * h
        self.classifier = nn.Linear(self.embed_dim, num_classes)

    def _run(self, x, acts):
        for i, b in enumerate(self.blocks):
            if i == 0 and _can_fuse_first_block(x, b.conv, b.norm):
                x = b.act(conv_instance_norm(x, b.conv, b.norm))
            else:
                x = b.act(b.norm(b.conv(x)))
            if acts is not None:
                acts.append(x)
            x = b.pool(x)
        return x.flatten(1)


def _convnet_max_depth(image_size: int, pool: str) -> int:
    h = 32 if image_size == 28 else image_size
    if pool == "none":
        return 10**6
    return int(math.floor(math.log2(h))) if h >= 1 else 0


# ----------------------------------------------------------------------------------------------------------------
# LeNet
# ----------------------------------------------------------------------------------------------------------------


class LeNet(_Net):
    """LeNet (DC): conv5×5(6, pad 2 on 28 px else 0) → ReLU → maxpool2 → conv5×5(16) → ReLU → maxpool2 → flatten
    (16·5·5) → FC120 → ReLU → FC84 → ReLU → FC(K). For other sizes (e.g. 64/128 px) an adaptive average pooling to
    5×5 is inserted after the second max-pool so the 400-d head is unchanged (identity, and absent, at 28/32 px).
    ``embed`` = the 84-d input of the final Linear; ``features`` = the two conv activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int):
        super().__init__()
        pad = 2 if image_size == 28 else 0
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5)
        h = ((image_size + 2 * pad - 4) // 2 - 4) // 2
        if h < 1:
            raise ConfigError(f"lenet needs images of at least 16 px, got {image_size}")
        self.adapt = h != 5
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.classifier = nn.Linear(84, num_classes)
        self.num_blocks = 2
        self.embed_dim = 84

    def _run(self, x, acts):
        x = F.relu(self.conv1(x), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.relu(self.conv2(F.max_pool2d(x, 2)), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.max_pool2d(x, 2)
        if self.adapt:
            x = F.adaptive_avg_pool2d(x, 5)
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        return F.relu(self.fc2(x), inplace=True)


# ----------------------------------------------------------------------------------------------------------------
# AlexNet
# ----------------------------------------------------------------------------------------------------------------


class _ConvStack(_Net):
    """Convs → norm → ReLU with 2×2 max pooling after the flagged layers (AlexNet, VGG11); ``features`` are the
    post-ReLU activations. Inputs larger than the CIFAR size are pooled adaptively to ``head_size`` before the head."""

    def _run(self, x, acts):
        for conv, norm, pool in zip(self.convs, self.norms, self._pool_after):
            x = F.relu(norm(conv(x)), inplace=True)
            if acts is not None:
                acts.append(x)
            if pool:
                x = F.max_pool2d(x, 2)
        if self.adapt:
            x = F.adaptive_avg_pool2d(x, self.head_size)
        return x.flatten(1)


class AlexNet(_ConvStack):
    """AlexNet, the small CIFAR variant of the DC code (no dropout/LRN): conv5×5(128, pad 2; pad 4 on 28 px) → ReLU
    → maxpool2 → conv5×5(192) → ReLU → maxpool2 → conv3×3(256) → ReLU → conv3×3(192) → ReLU → conv3×3(192) → ReLU →
    maxpool2 → flatten 192·4·4 = 3072 → Linear(K). ``batchnorm=True`` (``alexnet-bn``) puts BatchNorm2d after every
    conv. For inputs whose final map is not 4×4 (64/128 px) an adaptive average pooling to 4×4 is inserted before
    the flatten so the 3072-d head is unchanged. ``embed`` = the 3072-d vector; ``features`` = the 5 conv
    activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, batchnorm: bool = False):
        super().__init__()
        cfg = [
            (channels, 128, 5, 4 if image_size == 28 else 2),
            (128, 192, 5, 2),
            (192, 256, 3, 1),
            (256, 192, 3, 1),
            (192, 192, 3, 1),
        ]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for cin, cout, k, p in cfg:
            self.convs.append(nn.Conv2d(cin, cout, k, padding=p))
            self.norms.append(nn.BatchNorm2d(cout) if batchnorm else nn.Identity())
        self._pool_after = (True, True, False, False, True)
        h = image_size + 2 * cfg[0][3] - 4
        h = ((h // 2) // 2) // 2
        if h < 1:
            raise ConfigError(f"alexnet needs images of at least 8 px, got {image_size}")
        self.head_size = 4
        self.adapt = h != 4
        self.classifier = nn.Linear(192 * 4 * 4, num_classes)
        self.num_blocks = 5
        self.embed_dim = 192 * 16


# ----------------------------------------------------------------------------------------------------------------
# VGG11
# ----------------------------------------------------------------------------------------------------------------

_VGG11_CFG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG11(_ConvStack):
    """VGG11, CIFAR variant: config 64-M-128-M-256-256-M-512-512-M-512-512-M, each number conv3×3 (pad 1; pad 3 for
    the first conv on 28 px) → norm (instance by default; batch for ``vgg11-bn``) → ReLU, M = maxpool 2×2; then
    Linear(512 → K). At 28/32 px the map is already 1×1 (the original's trailing AvgPool(1) is the identity); for
    larger inputs (64/128 px) an adaptive average pooling to 1×1 is applied before the head. ``embed`` = the 512-d
    vector; ``features`` = the 8 conv activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, norm: str = "instance"):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        pool_after = []
        c_in, h, first = channels, image_size, True
        for v in _VGG11_CFG:
            if v == "M":
                pool_after[-1] = True
                h //= 2
                continue
            pad = 3 if (first and image_size == 28) else 1
            h = h + 2 * pad - 2
            first = False
            self.convs.append(nn.Conv2d(c_in, v, 3, padding=pad))
            self.norms.append(_norm2d(norm, v, (h, h)))
            pool_after.append(False)
            c_in = v
        if h < 1:
            raise ConfigError(f"vgg11 needs images of at least 32 px (28 px is padded to 32), got {image_size}")
        self._pool_after = tuple(pool_after)
        self.head_size = 1
        self.adapt = h != 1
        self.classifier = nn.Linear(512, num_classes)
        self.num_blocks = 8
        self.embed_dim = 512


# ----------------------------------------------------------------------------------------------------------------
# ResNet18
# ----------------------------------------------------------------------------------------------------------------


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _norm2d(norm, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = _norm2d(norm, c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), _norm2d(norm, c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet18(_Net):
    """ResNet18, CIFAR style: conv3×3(64, stride 1, no bias) → norm → ReLU (no max-pool), 4 stages of 2 BasicBlocks
    (64/128/256/512, strides 1/2/2/2, 1×1 conv + norm shortcut on shape change), global average pooling → 512 →
    Linear(K). Norm = instance (``resnet18``) or batch (``resnet18-bn``). The original's ``avg_pool2d(4)`` is written
    as adaptive average pooling to 1×1 — identical at 28 px (final map 4×4) and 32 px (4×4), and it makes 64/128 px
    inputs work (8×8 / 16×16 maps) with the same 512-d head. ``embed`` = the pooled 512-d vector; ``features`` = the
    outputs of the 4 stages (after each stage's last ReLU, before the global pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, norm: str = "instance"):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = _norm2d(norm, 64)
        stages = []
        c_in = 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(_BasicBlock(c_in, c_out, stride, norm), _BasicBlock(c_out, c_out, 1, norm)))
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.classifier = nn.Linear(512, num_classes)
        self.num_blocks = 4
        self.embed_dim = 512

    def _run(self, x, acts):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            if acts is not None:
                acts.append(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


# ----------------------------------------------------------------------------------------------------------------
# MLP
# ----------------------------------------------------------------------------------------------------------------


class MLP(_Net):
    """MLP: flatten (C·H·W) → FC128 → ReLU → FC128 → ReLU → FC(K). ``embed`` = the second 128-d hidden activation;
    ``features`` = the two hidden activations, which are 2-D [N, 128] tensors (no spatial dimensions)."""

    def __init__(self, channels: int, num_classes: int, image_size: int):
        super().__init__()
        self.fc1 = nn.Linear(channels * image_size * image_size, 128)
        self.fc2 = nn.Linear(128, 128)
        self.classifier = nn.Linear(128, num_classes)
        self.num_blocks = 2
        self.embed_dim = 128

    def _run(self, x, acts):
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.relu(self.fc2(x), inplace=True)
        if acts is not None:
            acts.append(x)
        return x


# ----------------------------------------------------------------------------------------------------------------
# Factory
# ----------------------------------------------------------------------------------------------------------------

_CONVNET_RE = re.compile(r"^convnet(?:-(\d+))?(-bn)?$")


def _valid_names_text() -> str:
    return ", ".join(NET_NAMES) + " (also any convnet-<depth>, and convnet-<depth>-bn for batch norm)"


def build_net(
    name: str,
    channels: int,
    num_classes: int,
    image_size: int,
    *,
    width: int = 128,
    norm: str = "instance",
    act: str = "relu",
    pool: str = "avg",
) -> nn.Module:
    """Build a freshly (PyTorch-default) initialised network.

    ``width``, ``act`` and ``pool`` shape the ConvNet family only (other nets have fixed architectures; the values
    are still validated). ``norm`` applies to ConvNet (all of ``NORMS``), VGG11 and ResNet18 (instance, batch,
    group, none); a ``-bn`` name suffix forces batch norm. LeNet, AlexNet and MLP have no normalisation
    (``alexnet`` with ``norm='batch'`` is AlexNet-BN, like ``alexnet-bn``). Raises ConfigError for unknown names
    or option values, or a ConvNet too deep for the image size.
    """
    if not isinstance(name, str):
        raise ConfigError(f"network name must be a string; choose one of: {_valid_names_text()}")
    key = name.strip().lower()
    channels = _check_pos_int("channels", channels)
    num_classes = _check_pos_int("num_classes", num_classes)
    image_size = _check_pos_int("image_size", image_size)
    width = _check_pos_int("width", width)
    norm = _check_choice("norm", norm, NORMS)
    act = _check_choice("activation", act, ACTS)
    pool = _check_choice("pooling", pool, POOLS)

    m = _CONVNET_RE.match(key)
    if m:
        depth = int(m.group(1)) if m.group(1) else 3
        if m.group(2):
            norm = "batch"
        if depth < 1:
            raise ConfigError(f"{name}: depth must be at least 1")
        max_depth = _convnet_max_depth(image_size, pool)
        if depth > max_depth:
            raise ConfigError(
                f"{name} is too deep for {image_size} px images: {depth} 2×2 poolings shrink the "
                f"feature map to 0; the maximum depth for {image_size} px is {max_depth} "
                f'(or use pool="none")'
            )
        return ConvNet(channels, num_classes, image_size, depth=depth, width=width, norm=norm, act=act, pool=pool)

    bn = key.endswith("-bn")
    base = key[:-3] if bn else key
    if key not in NET_NAMES:
        raise ConfigError(f"unknown network {name!r}; choose one of: {_valid_names_text()}")
    if base == "lenet":
        return LeNet(channels, num_classes, image_size)
    if base == "mlp":
        return MLP(channels, num_classes, image_size)
    if base == "alexnet":
        return AlexNet(channels, num_classes, image_size, batchnorm=bn or norm == "batch")
    if bn:
        norm = "batch"
    if norm == "layer":
        raise ConfigError(
            f'norm "layer" is only available for the ConvNet family; for {name} choose one of: '
            "instance, batch, group, none"
        )
    if base == "vgg11":
        return VGG11(channels, num_classes, image_size, norm=norm)
    return ResNet18(channels, num_classes, image_size, norm=norm)


def check_net_name(name: str) -> str:
    """Raise ConfigError unless ``name`` is a known network name (size-independent check, builds nothing)."""
    key = name.strip().lower() if isinstance(name, str) else ""
    if not (_CONVNET_RE.match(key) or key in NET_NAMES):
        raise ConfigError(f"unknown network {name!r}; choose one of: {_valid_names_text()}")
    return key


def default_net_for(image_size: int) -> str:
    """The standard distillation backbone for a resolution: ConvNet-3 up to 32 px (28/32), ConvNet-4 for 64 px
    (Tiny ImageNet; 64 → 4), ConvNet-7 for 128 px (128 → 1); above 128 px ConvNet-7, below 8 px the deepest valid."""
    image_size = _check_pos_int("image_size", image_size)
    if image_size <= 32:
        depth = 3
    elif image_size <= 64:
        depth = 4
    else:
        depth = 7
    return f"convnet-{max(1, min(depth, _convnet_max_depth(image_size, 'avg')))}"


def set_fast_inference_norm(net: nn.Module, enabled: bool = True) -> nn.Module:
    """Let the instance norms of ``net`` use PyTorch's fused single-pass NHWC kernel for gradient-free CPU forwards.

    That kernel computes the variance as E[x²]-E[x]² in fp32: relative error ≈ 1e-7·(μ/σ)² per channel, negligible
    for the untrained random networks DM/AM embed with (|μ/σ| ≲ 3; measured max abs. error 4e-6) and ~3x faster than
    the exact two-pass path ([256,128,32,32] NHWC: 23 ms vs 72 ms here). Off by default: trained nets can have
    |μ/σ| ≫ 10, and anything that needs gradients always takes the exact path. For ConvNets the flag also lets
    gradient-free CPU forwards compute the first block's conv → instance norm as one matrix product
    (:func:`conv_instance_norm`, exact).
    """
    for m in net.modules():
        if isinstance(m, InstanceNorm):
            m.fast_inference = enabled
    return net


def net_uses_batchnorm(net: nn.Module) -> bool:
    """True if any submodule is a batch norm (then training/embedding batches must mix classes)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@torch.no_grad()
def reinit_(net: nn.Module) -> nn.Module:
    """Re-initialise every parameter in place with PyTorch defaults (``reset_parameters`` on every submodule that
    has it; batch-norm running statistics are reset too). Returns ``net``. Cheap way to get a fresh random net."""
    for m in net.modules():
        if m is not net and callable(getattr(m, "reset_parameters", None)):
            m.reset_parameters()
    return net
