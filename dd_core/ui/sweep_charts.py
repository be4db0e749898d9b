"""The Sweep page's figure: a method's mean last accuracy over two grid keys as a Plotly heatmap (a pure function of
``dd_core.sweeps.table.Heatmap``)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from .charts import _layout
from .fmt import method_label
from .sweep_inputs import column_label

COLORSCALE = [[0.0, "#F4F5FB"], [1.0, "#818CF8"]]  # the theme's light background to a light primary: dark text reads


def cell_text(acc: float | None, n: int, config: str) -> str:
    """'81.0 %<br>2 seeds' (+ the best configuration of the other keys), '' where nothing finished."""
    if acc is None:
        return ""
    return f"{100 * acc:.1f} %<br>{n} seed{'s' if n != 1 else ''}" + (f"<br>{config}" if config else "")


def heatmap_figure(h: Any) -> go.Figure:
    """Mean last accuracy (%) over seeds of ``h.method`` at each (``h.x_key``, ``h.y_key``) value, each cell
    labelled with its value and seeds (empty where no trial finished)."""
    z = [[None if a is None else 100 * a for a in row] for row in h.acc]
    text = [
        [cell_text(a, n, c) for a, n, c in zip(accs, ns, configs, strict=True)]
        for accs, ns, configs in zip(h.acc, h.n, h.config, strict=True)
    ]
    x_label, y_label = column_label(h.x_key), column_label(h.y_key)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(v) for v in h.x],
            y=[str(v) for v in h.y],
            text=text,
            texttemplate="%{text}",
            colorscale=COLORSCALE,
            textfont=dict(color="#1F2937"),
            colorbar=dict(title="accuracy (%)"),
            hovertemplate=f"{x_label} %{{x}}<br>{y_label} %{{y}}<br>%{{text}}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    fig.update_xaxes(title=x_label, type="category")
    fig.update_yaxes(title=y_label, type="category")
    return _layout(fig, f"{method_label(h.method)}: mean last accuracy over seeds", height=380)
