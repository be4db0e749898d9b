"""Home page: device, datasets with their status and fixes. Reads dd_core facts only; computes nothing heavy."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from dd_core.data import DATASETS, dataset_status
from dd_core.device import describe_device, pick_device
from dd_core.paths import data_home


@st.cache_data(ttl=10, show_spinner=False)
def _statuses() -> list[dict]:
    rows = []
    for name in DATASETS:
        s = dataset_status(name)
        rows.append({"dataset": s.name, "status": s.status, "detail": s.detail, "fix": s.fix})
    return rows


def render() -> None:
    st.title("🧪 DistillLab")
    st.caption("Dataset distillation, live: learn a tiny synthetic training set on which a fresh network "
               "reaches accuracy close to training on the whole dataset. Methods: DM, DataDAM (AM), PAD; "
               "baselines: random real, herding, whole dataset.")
    dev = pick_device()
    c1, c2, c3 = st.columns(3)
    c1.metric("Device", "CUDA" if dev.type == "cuda" else "CPU", help=describe_device(dev))
    c2.metric("Torch threads", torch.get_num_threads())
    c3.metric("PyTorch", torch.__version__.split("+")[0])
    st.caption(f"Device: {describe_device(dev)} · data home: `{data_home()}` (set `DD_HOME` to change)")

    st.subheader("Datasets")
    rows = _statuses()
    icon = {"available": "✅", "will download": "⬇️", "missing": "⚠️"}
    table = pd.DataFrame([{**r, "status": f"{icon.get(r['status'], '')} {r['status']}"} for r in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    for r in rows:
        if r["fix"]:
            st.info(f"**{r['dataset']}** — {r['fix']}")
