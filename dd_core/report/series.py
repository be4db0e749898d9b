"""The numbers behind the report's charts, as plain data shared by the HTML (Plotly) and the slide figures
(matplotlib): accuracy bars with their references, accuracy vs IPC, loss curves per method."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import thin
from ..labels import net_label
from .data import Entry, Group
from .text import method_label


@dataclass
class Bar:
    """One evaluation of one run (its last set), in percent."""

    label: str
    method: str
    net: str
    acc: float
    std: float | None  # only where two or more models were trained (one model has no spread)
    random: float | None
    whole: float | None
    whole_epochs: int | None
    status: str


def bars(group: Group) -> list[Bar]:
    """Every (run, net) of the group's last evaluations; the net is named when the group has several."""
    several = len({e["net"] for en in group.entries for e in en.evals}) > 1
    out = []
    for en in group.entries:
        for e in en.evals:
            label = en.name + (f" · {net_label(e['net'])}" if several else "")
            if en.status != "done":
                label += f" ({en.status})"
            n = e.get("n_models") or 1
            out.append(
                Bar(
                    label=label,
                    method=en.method,
                    net=e["net"],
                    acc=100 * e["acc_mean"],
                    std=100 * e["acc_std"] if n >= 2 and e.get("acc_std") is not None else None,
                    random=None if e.get("random_acc_mean") is None else 100 * e["random_acc_mean"],
                    whole=None if e.get("whole_acc") is None else 100 * e["whole_acc"],
                    whole_epochs=e.get("whole_epochs"),
                    status=en.status,
                )
            )
    return out


def wholes(items: list[Bar]) -> dict[str, tuple[float, int | None]]:
    """The whole-dataset accuracy per net among ``items``: {net: (percent, epochs)}."""
    return {b.net: (b.whole, b.whole_epochs) for b in items if b.whole is not None}


@dataclass
class IpcSeries:
    """Accuracy vs IPC of one method on one net: the mean over its runs at each IPC (percent)."""

    method: str
    net: str
    points: list[tuple[int, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{method_label(self.method)} · {net_label(self.net)}"


def ipc_series(group: Group) -> tuple[list[IpcSeries], list[tuple[int, float]]]:
    """(one series per method and net, random real per IPC) when the group covers two IPCs or more; else empty."""
    if len(group.ipcs) < 2:
        return [], []
    acc: dict[tuple[str, str], dict[int, list[float]]] = {}
    rand: dict[int, list[float]] = {}
    for en in group.entries:
        if en.ipc is None:
            continue
        for e in en.evals:
            acc.setdefault((en.method, e["net"]), {}).setdefault(en.ipc, []).append(100 * e["acc_mean"])
            if e.get("random_acc_mean") is not None:
                rand.setdefault(en.ipc, []).append(100 * e["random_acc_mean"])
    series = [
        IpcSeries(m, net, sorted((ipc, sum(v) / len(v)) for ipc, v in by_ipc.items()))
        for (m, net), by_ipc in acc.items()
    ]
    return series, sorted((ipc, sum(v) / len(v)) for ipc, v in rand.items())


@dataclass
class LossCurve:
    label: str
    iterations: list[int]
    loss: list[float]


def loss_curves(entries: list[Entry]) -> dict[str, list[LossCurve]]:
    """{method: its runs' total-loss curves}: one panel per method, never two methods' objectives on one axis."""
    out: dict[str, list[LossCurve]] = {}
    for en in entries:
        rows = thin([r for r in en.metrics if isinstance(r.get("loss"), (int, float))])
        if rows:
            curve = LossCurve(en.name, [int(r["iteration"]) for r in rows], [float(r["loss"]) for r in rows])
            out.setdefault(en.method, []).append(curve)
    return out
