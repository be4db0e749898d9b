"""Display names of the networks, the accuracy and protocol spelling: one for the CLI, the pages and the report
(no PyTorch import)."""

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


def pct(fraction: float) -> str:
    """An accuracy stored in [0, 1] as running text: 0.8642 → '86.4 %'."""
    return f"{100 * fraction:.1f} %"


def fmt_acc(mean: float | None, std: float | None = None, n_models: int | None = None, unit: str = "") -> str:
    """Accuracies are stored in [0, 1]; shown in percent (``unit`` after the numbers: " %" in running text, "" in a
    column that says %), ± the std over models. One model has no spread: it says so instead of printing '± 0.00'."""
    if mean is None:
        return "—"
    if n_models == 1:
        return f"{100 * mean:.2f}{unit} · 1 model (no spread)"
    return f"{100 * mean:.2f} ± {100 * std:.2f}{unit}" if std is not None else f"{100 * mean:.2f}{unit}"


def protocol_text(rec: dict) -> str:
    """'quick · 300 ep × 2 models'."""
    return f"{rec.get('protocol') or '?'} · {rec.get('epochs')} ep × {rec.get('n_models')} model" + (
        "s" if (rec.get("n_models") or 0) != 1 else ""
    )


# One colour per method on every chart of the pages, the report and the slide figures (Okabe-Ito, colour-blind safe);
# the references (random real, the whole dataset) are greys and black, drawn as lines rather than bars.
METHOD_COLOR = {
    "dm": "#0072B2",
    "am": "#E69F00",
    "pad": "#009E73",
    "herding": "#CC79A7",
    "random": "#7F7F7F",
    "whole": "#000000",
    "imported set": "#56B4E9",
}
OTHER_COLOR = "#D55E00"


def method_color(method: str | None) -> str:
    """The fixed colour of ``method`` ('dm', 'am', 'pad', 'herding', 'random', 'whole', ...); others share one."""
    return METHOD_COLOR.get(method or "", OTHER_COLOR)


def gap_text(gap_closed: float) -> str:
    """The share of the random → whole-dataset gap a set closed, in words: '67 % of the gap closed'; a set below
    random real closed none of it (the ratio would read '-1354 %'): 'below random real'."""
    return "below random real" if gap_closed < 0 else f"{100 * gap_closed:.0f} % of the gap closed"
