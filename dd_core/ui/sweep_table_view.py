"""A sweep's Table 1 (methods × IPC, mean ± std over seeds with random real beside it and the seeds counted) and its
heatmap over two grid keys, drawn from ``dd_core.sweeps.table`` (the page only renders them)."""

from __future__ import annotations

import re

import streamlit as st

from .fmt import PLOTLY_CONFIG, method_label
from .sweep_inputs import column_label


def config_words(text: str, keys: list[str] | None = None) -> str:
    """'lr_img=1 batch_real=64' in the form's words: 'Image learning rate 1, Real images per class ... 64'."""
    parts = re.findall(r"(\w+)=(\S+)", text)
    return ", ".join(f"{column_label(k)} {v}" for k, v in parts) if parts else text


def table_block(results: list[dict], trials: list) -> None:
    """Table 1 of the sweep's finished trials."""
    from dd_core.sweeps.table import BEST_NOTE, NOTE, attach_ipc, table1, table_rows

    t = table1(attach_ipc(results, trials))
    if not t.cells:
        st.caption("No trial yet.")
        return
    rows = table_rows(t)
    for row in rows:
        row["method"] = method_label(row["method"])
        for col in [c for c in row if c.endswith("best config")]:
            row[col] = config_words(row[col], t.keys)
    st.markdown("**Methods × IPC** (test accuracy of each trial's last set, %)")
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(NOTE + (f" {BEST_NOTE}" if t.keys else ""))


def heatmap_methods(results: list[dict]) -> list[str]:
    """The methods with ≥ 2 grid keys that vary among their trials."""
    from dd_core.sweeps.table import varying_keys

    methods = list(dict.fromkeys(r["method"] for r in results))
    return [m for m in methods if len(varying_keys(results, m)) >= 2]


def heatmap_block(sweep_id: int, results: list[dict], trials: list) -> None:
    """A method's mean accuracy over two grid keys it varies (picked here), when some method varies two."""
    from dd_core.sweeps.table import attach_ipc, heatmap, varying_keys

    from .sweep_charts import heatmap_figure

    methods = heatmap_methods(results)
    if not methods:
        return
    st.markdown("**Heatmap over two grid keys**")
    c1, c2, c3 = st.columns(3)
    method = c1.selectbox("Method", methods, format_func=method_label, key=f"sweep.hm.method.{sweep_id}")
    keys = varying_keys(results, method)
    x_key = c2.selectbox("Across", keys, format_func=column_label, key=f"sweep.hm.x.{sweep_id}.{method}")
    others = [k for k in keys if k != x_key]
    y_key = c3.selectbox("Down", others, format_func=column_label, key=f"sweep.hm.y.{sweep_id}.{method}.{x_key}")
    h = heatmap(attach_ipc(results, trials), method, x_key, y_key)
    h.config = [[config_words(c, keys) for c in row] for row in h.config]
    st.plotly_chart(heatmap_figure(h), config=PLOTLY_CONFIG, key=f"sweep.hm.{sweep_id}")
    if len(keys) > 2:
        st.caption("Where the other grid keys vary too, each cell is their best configuration (named in the cell).")
