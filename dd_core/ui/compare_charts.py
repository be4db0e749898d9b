"""The Compare page's figures (Plotly, pure functions of plain data): charts that tell the truth.

* accuracy bars start at 0, carry their value, and have error bars only where ≥ 2 models were trained; random real
  (same IPC, same evaluation) is a tick across each bar and the whole dataset a dashed line, never bars;
* one fixed colour per method (``dd_core.labels.method_color``) on every chart;
* loss curves get one panel per method: different objectives never share an axis;
* accuracy vs iteration only for runs evaluated at ≥ 2 iterations; accuracy vs IPC only across ≥ 2 IPCs;
* legends sit right of the plot (the margin grows to fit them: no overlap); ``big`` sets projector-sized type.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dd_core.labels import method_color, net_label

from .fmt import method_label

PATTERNS = ["", "/", ".", "x", "\\", "+"]  # a second run of the same method: same colour, another fill pattern


@dataclass(frozen=True)
class Bar:
    """One run's accuracy on one net: fractions in [0, 1]."""

    name: str
    method: str
    net: str
    acc: float
    std: float | None
    n_models: int
    random_acc: float | None = None


def font_size(big: bool) -> int:
    return 22 if big else 13


def layout(fig: go.Figure, title: str | None, *, big: bool = False, height: int = 380, **kw) -> go.Figure:
    """Title, size, the legend right of the plot, readable type; template "none" (Streamlit's theme styles it)."""
    size = font_size(big)
    fig.update_layout(
        title=dict(text=title, font=dict(size=size + 4)) if title else None,
        height=int(height * (1.35 if big else 1)),
        font=dict(size=size),
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", font=dict(size=size - 1)),
        template="none",
        **kw,
    )
    fig.update_xaxes(automargin=True, tickfont=dict(size=size), title_font=dict(size=size))
    fig.update_yaxes(automargin=True, tickfont=dict(size=size), title_font=dict(size=size))
    return fig


def readable_log(fig: go.Figure, **where) -> None:
    """A log axis whose every label carries its magnitude ('200', '500', '1k'), not bare digits."""
    fig.update_yaxes(type="log", dtick="D2", minorloglabels="complete", exponentformat="SI", **where)


def bar_marker(method: str, k: int) -> dict:
    """The ``k``-th run of ``method``: the first solid in the method's colour, later ones hatched on white."""
    colour = method_color(method)
    if k == 0:
        return dict(color=colour)
    return dict(
        color="white",
        line=dict(color=colour, width=2),
        pattern=dict(shape=PATTERNS[1 + (k - 1) % (len(PATTERNS) - 1)], fgcolor=colour, bgcolor="white", solidity=0.25),
    )


def accuracy_bars(
    bars: list[Bar], whole: dict[str, float], *, title: str | None = "Test accuracy", big: bool = False
) -> go.Figure:
    """Grouped bars (x: evaluation net; one bar per run) from 0 to 100 %, with value labels; ``whole``: net →
    whole-dataset accuracy, drawn as a labelled dashed line across that net's group."""
    nets = list(dict.fromkeys(b.net for b in bars))
    per_method: dict[str, int] = {}  # how many runs of each method are drawn so far
    fig = go.Figure()
    runs = list(dict.fromkeys(b.name for b in bars))
    for name in runs:
        mine = [b for b in bars if b.name == name]
        method = mine[0].method
        k = per_method[method] = per_method.get(method, -1) + 1
        std = [100 * b.std if b.n_models >= 2 and b.std is not None else 0 for b in mine]
        fig.add_trace(
            go.Bar(
                x=[net_label(b.net) for b in mine],
                y=[100 * b.acc for b in mine],
                name=name,
                marker=bar_marker(method, k),
                error_y=dict(type="data", array=std, visible=any(std)),
                text=[f"{100 * b.acc:.1f}" for b in mine],
                textposition="inside",
                insidetextanchor="start",  # at the foot of the bar: clear of the error bar and the random tick
                textfont=dict(color="white" if k == 0 else "#111111"),
                hovertemplate="%{x}: %{y:.2f} %<extra>" + name + "</extra>",
                offsetgroup=name,
            )
        )
        rand = [(net_label(b.net), 100 * b.random_acc) for b in mine if b.random_acc is not None]
        if rand:
            fig.add_trace(
                go.Scatter(
                    x=[r[0] for r in rand],
                    y=[r[1] for r in rand],
                    mode="markers",
                    marker=dict(symbol="line-ew", size=48 if big else 36, line=dict(width=3, color="#333333")),
                    name="random real (same IPC, same evaluation)",
                    legendgroup="random",
                    showlegend=name == next(n for n in runs if any(b.random_acc for b in bars if b.name == n)),
                    offsetgroup=name,
                    hovertemplate="random real %{y:.2f} %<extra>" + name + "</extra>",
                )
            )
    for i, net in enumerate(nets):
        if net in whole:
            y = 100 * whole[net]
            fig.add_shape(
                type="line", x0=i - 0.45, x1=i + 0.45, y0=y, y1=y, line=dict(color=method_color("whole"), dash="dash")
            )
            fig.add_annotation(
                x=i + 0.45, y=y, text=f"whole dataset {y:.1f} %", showarrow=False, xanchor="right", yanchor="bottom"
            )
    fig.update_layout(barmode="group", scattermode="group", bargap=max(0.15, 0.7 - 0.15 * len(runs)))
    fig.update_yaxes(title="test accuracy (%)", range=[0, 105], dtick=20)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[net_label(n) for n in nets])
    return layout(fig, title, big=big, height=420)


def acc_vs_iteration(
    series: list[tuple[str, str, list[dict]]], *, title: str | None = "Accuracy vs iteration", big: bool = False
) -> go.Figure | None:
    """``series``: (run name, method, eval records). Runs evaluated at fewer than 2 iterations are left out (one
    point is not a curve); None when none is left."""
    fig = go.Figure()
    for name, method, evals in series:
        by_net: dict[str, list[dict]] = {}
        for e in evals:
            if e.get("acc_mean") is not None:
                by_net.setdefault(e["net"], []).append(e)
        for j, (net, recs) in enumerate(by_net.items()):
            its = sorted({int(r.get("iteration") or 0) for r in recs})
            if len(its) < 2:
                continue
            recs = sorted(recs, key=lambda r: r.get("iteration") or 0)
            fig.add_trace(
                go.Scatter(
                    x=[r.get("iteration") or 0 for r in recs],
                    y=[100 * r["acc_mean"] for r in recs],
                    error_y=dict(
                        type="data",
                        array=[100 * (r.get("acc_std") or 0) if (r.get("n_models") or 1) >= 2 else 0 for r in recs],
                        visible=any((r.get("n_models") or 1) >= 2 for r in recs),
                    ),
                    mode="lines+markers",
                    name=f"{name} · {net_label(net)}",
                    line=dict(color=method_color(method), dash=["solid", "dot", "dash"][j % 3]),
                )
            )
    if not fig.data:
        return None
    fig.update_xaxes(title="iteration")
    fig.update_yaxes(title="test accuracy (%)", rangemode="tozero")
    return layout(fig, title, big=big)


def loss_panels(
    series: list[tuple[str, str, list[dict]]], *, title: str | None = "Loss (one panel per method)", big: bool = False
) -> go.Figure | None:
    """``series``: (run name, method, metric rows). One panel per method (DM's and AM's objectives differ: never
    one axis); log scale per panel when every value is positive and they span a decade or more."""
    methods = list(dict.fromkeys(m for _, m, rows in series if any(r.get("loss") is not None for r in rows)))
    if not methods:
        return None
    fig = make_subplots(
        rows=1, cols=len(methods), subplot_titles=[method_label(m) for m in methods], horizontal_spacing=0.08
    )
    for col, method in enumerate(methods, start=1):
        values: list[float] = []
        for k, (name, m, rows) in enumerate(s for s in series if s[1] == method):
            rows = [r for r in rows if r.get("loss") is not None]
            ys = [r["loss"] for r in rows]
            values += ys
            fig.add_trace(
                go.Scatter(
                    x=[r["iteration"] for r in rows],
                    y=ys,
                    mode="lines",
                    name=name,
                    line=dict(color=method_color(m), dash=["solid", "dot", "dash", "dashdot"][k % 4]),
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title="iteration", row=1, col=col)
        if values and min(values) > 0 and max(values) / min(values) >= 10:  # log only across a decade or more
            readable_log(fig, row=1, col=col)
    fig.update_yaxes(title="loss", row=1, col=1)
    fig = layout(fig, title, big=big)
    fig.update_layout(margin=dict(t=90 if title else 40))  # the panel titles sit below the figure's
    return fig


@dataclass(frozen=True)
class IpcPoint:
    """One accuracy at one IPC: a run's (measured), random real's, or a paper's (published)."""

    method: str
    ipc: int
    acc: float  # fraction
    kind: str = "measured"  # measured | random | published


def acc_vs_ipc(
    points: list[IpcPoint], dataset: str, *, title: str | None = None, big: bool = False
) -> go.Figure | None:
    """The field's standard figure: accuracy against IPC (log axis), a line per method (the mean of its runs at
    each IPC), random real dotted, published numbers as open markers named 'published'. None below 2 IPCs."""
    measured = [p for p in points if p.kind != "published"]
    if len({p.ipc for p in measured}) < 2:
        return None
    fig = go.Figure()
    groups: dict[tuple[str, str], dict[int, list[float]]] = {}
    for p in points:
        groups.setdefault((p.kind, p.method), {}).setdefault(p.ipc, []).append(p.acc)
    for (kind, method), by_ipc in sorted(groups.items(), key=lambda g: (g[0][0] == "published", g[0][1])):
        ipcs = sorted(by_ipc)
        ys = [100 * sum(by_ipc[i]) / len(by_ipc[i]) for i in ipcs]
        colour = method_color("random" if kind == "random" else method)
        label = {"measured": method_label(method), "random": "random real (measured)"}.get(
            kind, f"{method_label(method)} (published)"
        )
        fig.add_trace(
            go.Scatter(
                x=ipcs,
                y=ys,
                name=label,
                mode="markers" if kind == "published" else "lines+markers",
                marker=dict(
                    color=colour, size=12 if big else 9, symbol="circle-open" if kind == "published" else "circle"
                ),
                line=dict(color=colour, dash="dot" if kind == "random" else "solid"),
            )
        )
    fig.update_xaxes(title="images per class (IPC)", type="log", tickvals=sorted({p.ipc for p in points}))
    fig.update_yaxes(title="test accuracy (%)", range=[0, 105], dtick=20)
    return layout(fig, title or f"Accuracy vs IPC · {dataset}", big=big)
