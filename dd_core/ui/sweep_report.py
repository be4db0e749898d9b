"""A sweep's results: Table 1 and the heatmap (``sweep_table_view``), the best configuration (the finished trial
with the highest last accuracy) linked to its run, with "Load into Distill" to run its settings again from the
Distill form, and a link to Compare with the sweep's runs."""

from __future__ import annotations

import streamlit as st

from dd_core.labels import pct

from .fmt import method_label
from .store_access import get_store
from .sweep_inputs import column_label


def config_text(r: dict) -> str:
    """'DM · IPC 10 · Image learning rate 1.0 · seed 1'."""
    parts = [method_label(r["method"]), *(f"{column_label(k)} {v}" for k, v in r["params"].items())]
    if r.get("seed") is not None:
        parts.append(f"seed {r['seed']}")
    return " · ".join(parts)


def best_block(sweep_id: int, results: list[dict]) -> None:
    """The best configuration with links to its run and "Load into Distill"."""
    from dd_core.sweeps.results import best_of

    best = best_of(results)
    st.markdown("**Best configuration**")
    if best is None:
        st.caption("No finished trial with an accuracy yet.")
        return
    rand = f" · random real {pct(best['random_acc_mean'])}" if best.get("random_acc_mean") is not None else ""
    st.markdown(f"{config_text(best)}: **{pct(best['acc_mean'])}**{rand} (run #{best['run_id']}, its last set)")
    c1, c2, c3 = st.columns(3)
    c1.page_link(
        "pages/distill.py",
        label=f"Open run #{best['run_id']}",
        query_params={"run": str(best["run_id"])},
        icon=":material/open_in_new:",
    )
    c2.page_link(
        "pages/gallery.py",
        label="Its images",
        query_params={"run": str(best["run_id"])},
        icon=":material/photo_library:",
    )
    if c3.button(
        "Load into Distill",
        icon=":material/input:",
        key=f"sweep.load.{sweep_id}",
        help="Fills the Distill page's form with this trial's settings, to run them again or change them.",
    ):
        load_into_distill(best["run_id"])


def load_into_distill(run_id: int) -> None:
    from .distill_load import request_load

    run = get_store().get_run(run_id)
    if run is None:
        st.warning(f"Run #{run_id} no longer exists.")
        return
    request_load(run_id, run["config"])


def render(sweep_id: int, results: list[dict], trials: list) -> None:
    """Table 1, the heatmap (when a method varies two grid keys), the best configuration, a link to Compare."""
    from .sweep_table_view import heatmap_block, table_block

    st.subheader("Results")
    table_block(results, trials)
    heatmap_block(sweep_id, results, trials)
    best_block(sweep_id, results)
    st.page_link(
        "pages/compare.py",
        label=f"Compare the runs of sweep #{sweep_id}",
        query_params={"sweep": str(sweep_id)},
        icon=":material/bar_chart:",
    )
