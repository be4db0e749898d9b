"""The report's words: method names, the evaluation protocol in words, accuracies, titles of the figures."""

from __future__ import annotations

from ..labels import fmt_acc, net_label


def method_label(name: str | None) -> str:
    """The method's own label (``Method.label``: 'DM', 'Random real', ...); 'whole dataset' for baselines."""
    from ..methods import METHODS

    if name == "whole":
        return "whole dataset"
    cls = METHODS.get(name or "")
    return cls.label if cls is not None else (name or "?")


def acc_text(rec: dict) -> str:
    """'86.42 ± 0.51 %', or '86.42 % · 1 model (no spread)' when one model was trained."""
    return fmt_acc(rec.get("acc_mean"), rec.get("acc_std"), rec.get("n_models"), " %")


def points(x: float | None) -> str:
    """A difference of accuracies in [0, 1] as points: 0.252 → '+25.2 points'; '—' when unknown."""
    return "—" if x is None else f"{100 * x:+.1f} points"


def percent(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def protocol_short(protocol: str | None, epochs: int | None, n_models: int | None) -> str:
    """'quick: 2 models × 300 epochs' (the key runs are grouped by)."""
    n = n_models or 0
    return f"{protocol or '?'}: {n_models} model{'s' if n != 1 else ''} × {epochs} epochs"


def protocol_words(eval_cfg: dict, nets: list[str]) -> str:
    """The evaluation protocol of a run in a sentence: who is trained, how long, on what, what is reported."""
    n, e = eval_cfg.get("n_models"), eval_cfg.get("epochs")
    models = f"{n} fresh network{'s' if n != 1 else ''}"
    who = ", ".join(net_label(x) for x in nets) or "the dataset's ConvNet"
    dsa = "with DSA augmentation" if eval_cfg.get("dsa", True) else "without augmentation"
    return (
        f"{eval_cfg.get('protocol') or '?'} protocol: {models} of each evaluation net ({who}) trained from scratch on "
        f"the synthetic set for {e} epochs each (SGD lr {eval_cfg.get('lr', 0.01)}, momentum "
        f"{eval_cfg.get('momentum', 0.9)}, weight decay {eval_cfg.get('weight_decay', 5e-4)}, batch "
        f"{eval_cfg.get('batch_size', 256)}, lr × 0.1 for the second half, {dsa}), then tested on the real test set"
    )


def joined(values: list) -> str:
    """Distinct values in order, joined with ' / ' (a title over several runs)."""
    seen: list = []
    for v in values:
        if v is not None and v not in seen:
            seen.append(v)
    return " / ".join(str(v) for v in seen)


def figure_title(methods: list[str], datasets: list[str], ipcs: list, protocols: list[str]) -> str:
    """'DM / Random real · fashion-mnist · IPC 1 · quick: 2 models × 300 epochs' (method · dataset · IPC ·
    protocol)."""
    return " · ".join(
        (joined([method_label(m) for m in methods]), joined(datasets), f"IPC {joined(ipcs) or '?'}", joined(protocols))
    )
