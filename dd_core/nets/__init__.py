"""The network zoo: ConvNet-D, LeNet, AlexNet, VGG11, ResNet18 and MLP (docs/algorithms.md §1, docs/algorithms.md §1).

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

Grayscale 28 px handling (docs/algorithms.md §1.7) is keyed on ``image_size == 28`` (whatever the channel count):
ConvNet and VGG use padding 3 in the first conv (28 -> 32), AlexNet padding 4 (k5, 28 -> 32), LeNet padding 2
(28 -> 28); ResNet18 and MLP need nothing.

Instance norm is :class:`InstanceNorm`, a drop-in ``nn.GroupNorm(C, C, eps=1e-5, affine=True)`` (it *is* a
GroupNorm subclass, same parameters and init) that is exact and faster on channels_last CPU tensors. All nets accept
contiguous or channels_last input. On CPU, channels_last RGB input is the fastest layout for ConvNet training
(2 cores, ConvNet-3, 256 CIFAR images fwd+bwd: 529 ms channels_last vs 638 ms contiguous; 10 images: 15.7 vs
17.0 ms). 1-channel input cannot be channels_last (ambiguous strides), so grayscale nets run NCHW.
"""

from .factory import (
    NET_NAMES,
    build_net,
    check_net_name,
    default_net_for,
    net_uses_batchnorm,
    reinit_,
    set_fast_inference_norm,
)
from .layers import ACTS, NORMS, POOLS, Net
from .norms import InstanceNorm, conv_instance_norm

__all__ = [
    "ACTS",
    "NET_NAMES",
    "NORMS",
    "POOLS",
    "InstanceNorm",
    "Net",
    "build_net",
    "check_net_name",
    "conv_instance_norm",
    "default_net_for",
    "net_uses_batchnorm",
    "reinit_",
    "set_fast_inference_norm",
]
