"""Plotly figures of the dashboard (pure functions of plain data: testable without a browser).

Each chart is downloadable as PNG from Plotly's own mode bar (client side; see ``fmt.PLOTLY_CONFIG``).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dd_core.events import thin

from .fmt import net_label

LOSS_SKIP = {"iteration", "t", "seconds", "it_per_s", "epochs", "epoch", "lr", "test_acc"}
PALETTE = ["#4F46E5", "#F59E0B", "#10B981", "#EF4444", "#06B6D4", "#8B5CF6", "#EC4899", "#84CC16", "#64748B", "#F97316"]


def _layout(fig: go.Figure, title: str | None, height: int = 340, **kw) -> go.Figure:
    """Title, size, margins, legend below. Template "none": Streamlit's theme styles the chart on the page, and a
    Plotly template costs ≈ 12 ms and ≈ 6 KB per figure, i.e. every second on a live page."""
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        template="none",
        **kw,
    )
    return fig


def loss_keys(rows: list[dict]) -> list[str]:
    """The loss series present in metric rows: 'loss' first, then its parts (loss_attention, loss_embedding...)."""
    keys: dict[str, None] = {}
    for r in rows[-50:]:
        for k, v in r.items():
            if k not in LOSS_SKIP and isinstance(v, (int, float)) and not isinstance(v, bool):
                keys[k] = None
    return sorted(keys, key=lambda k: (k != "loss", k))


def loss_figure(rows: list[dict], title: str | None = "Loss") -> go.Figure:
    """Total loss and its parts vs iteration (log scale when every value is positive)."""
    rows = thin(rows)
    fig = go.Figure()
    keys = loss_keys(rows)
    positive = True
    for i, k in enumerate(keys):
        xs = [r["iteration"] for r in rows if r.get(k) is not None]
        ys = [r[k] for r in rows if r.get(k) is not None]
        positive = positive and all(y > 0 for y in ys)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=k.replace("_", " "),
                line=dict(width=2 if k == "loss" else 1.3, color=PALETTE[i % len(PALETTE)]),
            )
        )
    fig.update_xaxes(title="iteration")
    fig.update_yaxes(title="loss", type="log" if positive and keys else "linear")
    return _layout(fig, title)


def acc_vs_iteration_figure(
    evals: list[dict], title: str | None = "Test accuracy vs iteration", name_prefix: str = ""
) -> go.Figure:
    """One line per evaluation net: mean accuracy (%) with ± std error bars at each evaluated iteration."""
    fig = go.Figure()
    add_acc_traces(fig, evals, name_prefix)
    fig.update_xaxes(title="iteration")
    fig.update_yaxes(title="test accuracy (%)")
    return _layout(fig, title)


def add_acc_traces(fig: go.Figure, evals: list[dict], name_prefix: str = "", color_offset: int = 0) -> None:
    by_net: dict[str, list[dict]] = {}
    for e in evals:
        if e.get("acc_mean") is not None:
            by_net.setdefault(e["net"], []).append(e)
    for i, (net, recs) in enumerate(by_net.items()):
        recs = sorted(recs, key=lambda r: r.get("iteration") or 0)
        fig.add_trace(
            go.Scatter(
                x=[r.get("iteration") or 0 for r in recs],
                y=[100 * r["acc_mean"] for r in recs],
                error_y=dict(type="data", array=[100 * (r.get("acc_std") or 0) for r in recs], visible=True),
                mode="lines+markers",
                name=f"{name_prefix}{net_label(net)}",
                line=dict(color=PALETTE[(i + color_offset) % len(PALETTE)]),
                hovertemplate="iteration %{x}<br>%{y:.2f} %<extra>" + net_label(net) + "</extra>",
            )
        )


def baseline_figure(rows: list[dict], title: str | None = "Whole-dataset training") -> go.Figure:
    """Training loss (left axis) and test accuracy (right axis) per epoch."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    xs = [r["iteration"] for r in rows]
    fig.add_trace(
        go.Scatter(
            x=xs, y=[r.get("loss") for r in rows], mode="lines+markers", name="train loss", line=dict(color=PALETTE[0])
        ),
        secondary_y=False,
    )
    acc = [(r["iteration"], 100 * r["test_acc"]) for r in rows if r.get("test_acc") is not None]
    if acc:
        fig.add_trace(
            go.Scatter(
                x=[a[0] for a in acc],
                y=[a[1] for a in acc],
                mode="lines+markers",
                name="test accuracy (%)",
                line=dict(color=PALETTE[2]),
            ),
            secondary_y=True,
        )
    fig.update_xaxes(title="epoch", tick0=1, dtick=max(1, math.ceil(len(xs) / 10)))
    fig.update_yaxes(title="loss", secondary_y=False)
    fig.update_yaxes(title="test accuracy (%)", secondary_y=True)
    return _layout(fig, title)


def accuracy_bars(rows: list[dict], nets: list[str], title: str | None = "Test accuracy by architecture") -> go.Figure:
    """Grouped bars: x = evaluation net, one bar per row (run) with ± std error bars.
    ``rows``: [{"name": str, "acc": {net: (mean, std)}}] with accuracies in [0, 1]."""
    fig = go.Figure()
    for i, r in enumerate(rows):
        means = [100 * r["acc"][n][0] if n in r["acc"] else None for n in nets]
        stds = [100 * (r["acc"][n][1] or 0) if n in r["acc"] else None for n in nets]
        fig.add_trace(
            go.Bar(
                x=[net_label(n) for n in nets],
                y=means,
                name=r["name"],
                error_y=dict(type="data", array=stds, visible=True),
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate="%{x}: %{y:.2f} %<extra>" + r["name"] + "</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="test accuracy (%)")
    return _layout(fig, title, height=380)


def overlaid_losses(series: dict[str, list[dict]], title: str | None = "Loss curves") -> go.Figure:
    """Total loss of several runs vs iteration, one line each (log scale when positive)."""
    fig = go.Figure()
    positive = True
    for i, (name, rows) in enumerate(series.items()):
        rows = thin([r for r in rows if r.get("loss") is not None], 1000)
        ys = [r["loss"] for r in rows]
        positive = positive and all(y > 0 for y in ys)
        fig.add_trace(
            go.Scatter(
                x=[r["iteration"] for r in rows],
                y=ys,
                mode="lines",
                name=name,
                line=dict(color=PALETTE[i % len(PALETTE)]),
            )
        )
    fig.update_xaxes(title="iteration")
    fig.update_yaxes(title="loss", type="log" if positive and series else "linear")
    return _layout(fig, title)


def runs_acc_vs_iteration(series: dict[str, list[dict]], title: str | None = "Accuracy vs iteration") -> go.Figure:
    """Several runs' evaluations vs iteration; each run's nets as separate lines."""
    fig = go.Figure()
    for i, (name, evals) in enumerate(series.items()):
        add_acc_traces(fig, evals, name_prefix=f"{name} · ", color_offset=i * 3)
    fig.update_xaxes(title="iteration")
    fig.update_yaxes(title="test accuracy (%)")
    return _layout(fig, title)


def attention_figure(real_means: list, syn_means: list, matched: int, title: str | None = None) -> go.Figure:
    """Class-mean attention maps per block: row 1 real, row 2 synthetic. AM matches the first ``matched`` blocks."""
    n = len(real_means)
    titles = [f"block {i + 1}" + (" (matched)" if i < matched else " (embedding)") for i in range(n)]
    fig = make_subplots(
        rows=2, cols=n, subplot_titles=titles + [""] * n, horizontal_spacing=0.03, vertical_spacing=0.08
    )
    for i in range(n):
        for row, maps in ((1, real_means), (2, syn_means)):
            m = maps[i]
            fig.add_trace(
                go.Heatmap(z=m[::-1], colorscale="Viridis", showscale=False, hovertemplate="%{z:.3f}<extra></extra>"),
                row=row,
                col=i + 1,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor=None)
    fig.update_yaxes(title_text="real (class mean)", row=1, col=1)
    fig.update_yaxes(title_text="synthetic (class mean)", row=2, col=1)
    return _layout(fig, title, height=420)
