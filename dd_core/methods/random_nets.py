"""Pieces DM and AM share: a persistent random network re-initialised per iteration, the chunked real-side
forward (no gradient) and the chunk size measured fastest on the device."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..device import memory_format, place, seeded
from ..nets import Net, build_net, net_uses_batchnorm, reinit_, set_fast_inference_norm

_CHUNK_CACHE: dict[tuple, int] = {}
CHUNK_CANDIDATES = (32, 64, 128, 256)


class RandomNet:
    """A frozen network of one architecture, re-initialised in place (PyTorch defaults) for every iteration."""

    def __init__(self, name: str, meta, device: torch.device, seed: int):
        self.device = device
        self.seed = seed
        self.fmt = memory_format(device)
        self.net: Net = build_net(name, meta.channels, meta.num_classes, meta.image_size)
        self.net = set_fast_inference_norm(place(self.net, device).train())
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.batchnorm = net_uses_batchnorm(self.net)

    def fresh(self, it: int) -> Net:
        """Re-initialise with a seed derived from (seed, it): a run is repeatable on the same device."""
        with seeded(self.seed * 1_000_003 + it, self.device):
            reinit_(self.net)
        return self.net

    def prepare(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=self.fmt)


def choose_chunk(net: nn.Module, sample: Tensor, fn: Callable[[Tensor], object], batchnorm: bool) -> int:
    """The real-batch chunk size measured fastest per image on this device (0 = one batch).

    Batch norm needs the whole batch (its statistics), and a GPU is fastest with one large batch: 0 there.
    On CPU, time ``fn`` on ``max(CHUNK_CANDIDATES)`` images in each candidate chunk (best of two rounds) and keep
    the fastest.
    """
    if batchnorm or sample.device.type != "cpu":
        return 0
    key = (
        type(net).__name__,
        tuple(sample.shape[1:]),
        sum(p.numel() for p in net.parameters()),
        torch.get_num_threads(),
    )
    if key in _CHUNK_CACHE:
        return _CHUNK_CACHE[key]
    n = max(CHUNK_CANDIDATES)
    x = sample[:n]
    seconds = {chunk: float("inf") for chunk in CHUNK_CANDIDATES}
    with torch.inference_mode():
        fn(x[: CHUNK_CANDIDATES[0]])  # warm-up
        for _ in range(2):  # two interleaved rounds, best of each: this machine's timings drift
            for chunk in CHUNK_CANDIDATES:
                t0 = time.perf_counter()
                for i in range(0, len(x), chunk):
                    fn(x[i : i + chunk])
                seconds[chunk] = min(seconds[chunk], time.perf_counter() - t0)
    best = min(seconds, key=lambda c: seconds[c])
    _CHUNK_CACHE[key] = best
    return best


@torch.no_grad()
def real_class_means(
    features: Callable[[Tensor], list[Tensor]], x: Tensor, groups: Tensor, num_classes: int, chunk: int
) -> list[Tensor]:
    """Per-class means of every feature ``features(x)`` returns ([N,F_i] each), computed in chunks of ``chunk``
    images without gradients (exact: the random nets normalise per image) → [K,F_i] each; classes absent: 0."""
    sums: list[Tensor] | None = None
    for start, part in chunks(x, chunk):
        g = groups[start : start + len(part)]
        feats = features(part)
        add = [torch.zeros(num_classes, f.shape[1], device=f.device).index_add_(0, g.to(f.device), f) for f in feats]
        sums = add if sums is None else [a + b for a, b in zip(sums, add, strict=True)]
    assert sums is not None, "an empty real batch"
    counts = torch.bincount(groups, minlength=num_classes).clamp_min(1).to(sums[0])[:, None]
    return [s / counts for s in sums]


def chunks(x: Tensor, chunk: int):
    """Yield (start, x[start:start+chunk]) — the whole tensor once when chunk is 0."""
    step = chunk or len(x)
    for i in range(0, len(x), step):
        yield i, x[i : i + step]
