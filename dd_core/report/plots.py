"""The report's interactive charts (Plotly): accuracy bars with random real and the whole dataset as lines,
accuracy vs IPC, loss curves with one panel per method. Colours: ``labels.method_color``."""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..labels import method_color, net_label
from .series import Bar, IpcSeries, LossCurve, wholes
from .text import method_label

DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
GREY = "#7F7F7F"


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Title, size, and the legend below the plot (never over the data)."""
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        height=height,
        template="plotly_white",
        margin=dict(l=60, r=30, t=60, b=90),
        # at the foot of the whole figure, under the tick labels however many lines they take
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, xanchor="left", x=0),
    )
    fig.update_xaxes(automargin=True)
    return fig


def tick(label: str, bars: int) -> str:
    """A bar's label wrapped to the room one of ``bars`` bars has (no label runs into the next; none tilted)."""
    return "<br>".join(textwrap.wrap(label, max(8, min(24, 130 // max(1, bars)))))


def accuracy_figure(items: list[Bar], title: str) -> go.Figure:
    """One bar per (run, net) in its method's colour, value on top; error bars only with two or more models;
    random real as a grey tick on each bar, the whole dataset as a labelled horizontal line per net."""
    fig = go.Figure()
    seen: set[str] = set()
    for b in items:
        fig.add_trace(
            go.Bar(
                x=[tick(b.label, len(items))],
                y=[b.acc],
                name=method_label(b.method),
                legendgroup=b.method,
                showlegend=b.method not in seen,
                marker_color=method_color(b.method),
                error_y=dict(type="data", array=[b.std or 0.0], visible=b.std is not None),
                text=[f"{b.acc:.1f}"],
                textposition="inside",  # at the bar's foot: clear of the error bar, the random tick, the whole line
                insidetextanchor="start",
                textfont=dict(color="white"),
                hovertemplate="%{x}: %{y:.2f} %<extra></extra>",
            )
        )
        seen.add(b.method)
    marks = [b for b in items if b.random is not None]
    if marks:
        fig.add_trace(
            go.Scatter(
                x=[tick(b.label, len(items)) for b in marks],
                y=[b.random for b in marks],
                mode="markers",
                name="random real (same IPC, same evaluation)",
                marker=dict(symbol="line-ew", size=60, line=dict(width=4, color="#3A3A3A")),
                hovertemplate="random real: %{y:.2f} %<extra></extra>",
            )
        )
    for net, (acc, epochs) in wholes(items).items():
        what = f"whole dataset · {net_label(net)}" + (f" · {epochs} epochs" if epochs else "")
        fig.add_hline(y=acc, line=dict(color="black", dash="dash", width=1.5))
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="lines", name=f"{what}: {acc:.1f} %", line=dict(dash="dash", color="black")
            )
        )
    pad = max(0.0, (4 - len(items)) / 2)  # room for at least 4 bars: one bar is not a wall
    fig.update_xaxes(range=[-0.5 - pad, len(items) - 0.5 + pad])
    top = max([b.acc + (b.std or 0) for b in items] + [w for w, _ in wholes(items).values()] + [1.0])
    fig.update_yaxes(title="test accuracy (%)", range=[0, min(100.0, top * 1.15) if top < 87 else 105])
    return _layout(fig, title)


def ipc_figure(series: list[IpcSeries], random: list[tuple[int, float]], whole: dict, title: str) -> go.Figure:
    """Accuracy vs IPC: one line per method and net, random real dashed grey, the whole dataset dotted black."""
    fig = go.Figure()
    for i, s in enumerate(series):
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in s.points],
                y=[p[1] for p in s.points],
                mode="lines+markers",
                name=s.name,
                line=dict(color=method_color(s.method), dash=DASHES[i % len(DASHES)], width=2.5),
            )
        )
    if random:
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in random],
                y=[p[1] for p in random],
                mode="lines+markers",
                name="random real",
                line=dict(color=GREY, dash="dash"),
            )
        )
    for net, (acc, _) in whole.items():
        fig.add_hline(y=acc, line=dict(color="black", dash="dot"))
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=f"whole dataset · {net_label(net)}: {acc:.1f} %",
                line=dict(color="black", dash="dot"),
            )
        )
    fig.update_xaxes(
        title="images per class (IPC)", type="log", tickvals=sorted({p[0] for s in series for p in s.points})
    )
    fig.update_yaxes(title="test accuracy (%)", rangemode="tozero")
    return _layout(fig, title)


def loss_figure(curves: dict[str, list[LossCurve]], title: str) -> go.Figure:
    """One panel per method (each its own y axis: methods' objectives differ), its runs as lines."""
    methods = list(curves)
    fig = make_subplots(rows=1, cols=len(methods), subplot_titles=[method_label(m) for m in methods])
    for col, m in enumerate(methods, start=1):
        positive = all(v > 0 for c in curves[m] for v in c.loss)
        for i, c in enumerate(curves[m]):
            fig.add_trace(
                go.Scatter(
                    x=c.iterations,
                    y=c.loss,
                    mode="lines",
                    name=c.label,
                    line=dict(color=method_color(m), dash=DASHES[i % len(DASHES)], width=2),
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="iteration", row=1, col=col)
        fig.update_yaxes(
            title_text="loss" + (" (log)" if positive else ""), type="log" if positive else "linear", row=1, col=col
        )
        if positive:  # every label with its magnitude ('200', '500', '1k'), not bare digits, as on Compare
            fig.update_yaxes(dtick="D2", minorloglabels="complete", exponentformat="SI", row=1, col=col)
    return _layout(fig, title, height=400)
