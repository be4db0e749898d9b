"""Forward FLOPs of the zoo's networks, counted with fvcore (docs/algorithms.md §1).

Convention (fvcore's): one fused multiply-add = 1 FLOP (so a conv counts Cin·k·k·Cout·H·W, bias not counted);
norm layers count 5 FLOPs per input element with affine (4 without; batch norm in eval mode counts 2), the
adaptive average pool 1 per input element; ReLU, max/avg pooling and other ops fvcore does not handle count 0 and
are listed in ``unsupported_ops`` (ReLU is silently ignored by fvcore). The net is traced on one all-zero image in
eval mode; the instance norm is traced as ``aten::group_norm`` (see ``dd_core.nets.InstanceNorm``) and counted by
fvcore's group-norm handler.

Reference figures (tests/test_flops.py): ConvNet-3 on 1×28×28 (10 classes) 49,246,208 ≈ 49.2 M; on 3×32×32
51,605,504 ≈ 51.6 M; ConvNet-7 on 3×128×128 (2 classes) 875,713,280 ≈ 876 M.
"""

from __future__ import annotations

import copy
import functools
import logging
import warnings

import torch

from dd_core.errors import ConfigError
from dd_core.nets import build_net

__all__ = ["CONVENTION", "TRAIN_FACTOR", "count_flops", "training_flops"]

CONVENTION = "fvcore: 1 multiply-add = 1 FLOP; norms/activations as fvcore counts them"

TRAIN_FACTOR = 3
"""One training step on an image ≈ 3 forward passes: the forward (1×) plus the backward, which computes gradients
w.r.t. both activations and weights (≈ 2× the forward's multiply-adds for convs and linear layers)."""


@functools.lru_cache(maxsize=256)
def _count(net_name: str, channels: int, num_classes: int, image_size: int, opts: tuple) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis  # heavy import, deferred

        with torch.random.fork_rng(devices=[]):  # building a net must not perturb the caller's RNG stream
            net = build_net(net_name, channels, num_classes, image_size, **dict(opts))
        net.eval()
        x = torch.zeros(1, channels, image_size, image_size)
        fvcore_logger = logging.getLogger("fvcore")
        old_level = fvcore_logger.level
        fvcore_logger.setLevel(logging.ERROR)
        try:
            with torch.no_grad():
                fca = FlopCountAnalysis(net, x)
                fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
                total = int(fca.total())
                by_op = {k: int(v) for k, v in fca.by_operator().items()}
                unsupported = {k: int(v) for k, v in fca.unsupported_ops().items()}
        finally:
            fvcore_logger.setLevel(old_level)
    return {
        "net": net_name,
        "channels": channels,
        "num_classes": num_classes,
        "image_size": image_size,
        "net_opts": dict(opts),
        "flops_per_image": total,
        "params": sum(p.numel() for p in net.parameters()),
        "convention": CONVENTION,
        "by_operator": by_op,
        "unsupported_ops": unsupported,
    }


def count_flops(net_name: str, channels: int, num_classes: int, image_size: int, **net_opts) -> dict:
    """Forward FLOPs for one image of ``build_net(net_name, channels, num_classes, image_size, **net_opts)``.

    Returns ``{'net', 'channels', 'num_classes', 'image_size', 'net_opts', 'flops_per_image', 'params',
    'convention', 'by_operator': {op: flops}, 'unsupported_ops': {op: number of calls not counted}}``.
    Results are cached (a fresh copy is returned each call). Raises ConfigError like :func:`build_net`.
    """
    try:
        key = tuple(sorted(net_opts.items()))
        hash(key)
    except TypeError:
        raise ConfigError(f"network options must be simple values, got {net_opts!r}") from None
    return copy.deepcopy(_count(net_name, channels, num_classes, image_size, key))


def training_flops(flops_per_image: int, n_images: int, epochs: int) -> int:
    """Approximate FLOPs to train on ``n_images`` for ``epochs`` epochs: ``TRAIN_FACTOR (= 3) × forward FLOPs per
    image × images × epochs`` (forward + backward ≈ 3 × forward)."""
    for what, v in (("flops_per_image", flops_per_image), ("n_images", n_images), ("epochs", epochs)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{what} must be a non-negative integer, got {v!r}")
    return TRAIN_FACTOR * flops_per_image * n_images * epochs
