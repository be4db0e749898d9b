"""Display names of the networks, one spelling for the CLI, the pages and the report (no PyTorch import)."""

from __future__ import annotations

NET_LABEL = {
    "lenet": "LeNet",
    "alexnet": "AlexNet",
    "alexnet-bn": "AlexNet-BN",
    "vgg11": "VGG11",
    "vgg11-bn": "VGG11-BN",
    "resnet18": "ResNet18",
    "resnet18-bn": "ResNet18-BN",
    "mlp": "MLP",
}


def net_label(name: str | None) -> str:
    """'convnet-3' → 'ConvNet-3', 'resnet18-bn' → 'ResNet18-BN'; unknown names as they are."""
    if not name:
        return "?"
    if name.startswith("convnet"):
        return "ConvNet" + name[len("convnet") :]
    return NET_LABEL.get(name, name)
