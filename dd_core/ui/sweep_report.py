"""A sweep's results: Table 1 and the heatmap (``sweep_table_view``), each method's best configuration (by mean
gain over random real across its seeds, ``sweeps.table.best_per_method``) linked to its best seed's run, with "Load
into Distill" to run its settings again from the Distill form, and a link to Compare with the sweep's runs."""

from __future__ import annotations

import streamlit as st

from dd_core.labels import fmt_acc

from .fmt import method_label
from .store_access import get_store
from .sweep_inputs import column_label


def config_text(r: dict) -> str:
    """'DM · IPC 10 · Image learning rate 1.0 · seed 1'."""
    parts = [method_label(r["method"]), *(f"{column_label(k)} {v}" for k, v in r["params"].items())]
    if r.get("seed") is not None:
        parts.append(f"seed {r['seed']}")
    return " · ".join(parts)


def cell_text(cell) -> str:
    """'DM · IPC 10 · Image learning rate 1.0: **80.50 ± 0.50 %** over 2 seeds · random real 60.00 % (+20.50
    points)' (Markdown)."""
    from dd_core.sweeps.table import grid_config

    parts = [f"**{method_label(cell.method)}**", *(f"{column_label(k)} {v}" for k, v in grid_config(cell).items())]
    mean, std = cell.acc
    acc = fmt_acc(mean, std if cell.n > 1 else None, unit=" %")
    seeds = f"{cell.n} seed{'s' if cell.n != 1 else ''}"
    rand = ""
    if cell.gain is not None:
        rand = f" · random real {fmt_acc(cell.random[0], unit=' %')} ({100 * cell.gain:+.2f} points)"
    return f"{' · '.join(parts)}: **{acc}** over {seeds}{rand}"


def best_block(sweep_id: int, results: list[dict]) -> None:
    """Each method's best configuration, with links to its best seed's run and "Load into Distill"."""
    from dd_core.sweeps.table import best_per_method, best_run

    st.markdown("**Best configuration of each method**")
    cells = best_per_method(results)
    if not cells:
        st.caption("No finished trial with an accuracy yet.")
        return
    st.caption(
        "By mean gain over random real across seeds (so different IPCs compare fairly), else by mean accuracy; "
        "the links open its best seed's run (its last set)."
    )
    for cell in cells:
        run = best_run(cell, results)
        if run is None:
            continue
        st.markdown(cell_text(cell))
        c1, c2, c3 = st.columns(3)
        c1.page_link(
            "pages/distill.py",
            label=f"Open run #{run['run_id']} (seed {run['seed']})",
            query_params={"run": str(run["run_id"])},
            icon=":material/open_in_new:",
        )
        c2.page_link(
            "pages/gallery.py",
            label="Its images",
            query_params={"run": str(run["run_id"])},
            icon=":material/photo_library:",
        )
        if c3.button(
            "Load into Distill",
            icon=":material/input:",
            key=f"sweep.load.{sweep_id}.{cell.method}",
            help="Fills the Distill page's form with this configuration (its best seed's settings), to run them "
            "again or change them.",
        ):
            load_into_distill(run["run_id"])


def load_into_distill(run_id: int) -> None:
    from .distill_load import request_load

    run = get_store().get_run(run_id)
    if run is None:
        st.warning(f"Run #{run_id} no longer exists.")
        return
    request_load(run_id, run["config"])


def render(sweep_id: int, results: list[dict], trials: list) -> None:
    """Table 1, the heatmap (when a method varies two grid keys), each method's best configuration, a link to
    Compare."""
    from .sweep_table_view import heatmap_block, table_block

    st.subheader("Results")
    table_block(results, trials)
    heatmap_block(sweep_id, results, trials)
    from dd_core.sweeps.table import attach_ipc

    best_block(sweep_id, attach_ipc(results, trials))  # the IPC of each trial, also where it is no grid key
    st.page_link(
        "pages/compare.py",
        label=f"Compare the runs of sweep #{sweep_id}",
        query_params={"sweep": str(sweep_id)},
        icon=":material/bar_chart:",
    )
