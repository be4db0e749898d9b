"""Load a run's settings into the Distill form (the Sweep page's "Load into Distill").

Another page puts the run's ``RunConfig`` dict under :data:`LOAD_KEY` and switches to the Distill page, which calls
:func:`apply_load` before drawing its form: every field's widget key gets the run's value (preset 'none', so no
preset value overrides them; the fields the run does not record take the method's defaults).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

LOAD_KEY = "_distill_load"  # {"run_id": int, "config": RunConfig dict}
LOADED_KEY = "_distill_loaded"  # the run id whose settings the form shows, announced once
P = "distill"  # the Distill form's widget key prefix
KEEP = ("last_run", "watch")  # key parts a load never resets


def request_load(run_id: int, config: dict) -> None:
    """Fill the Distill form with ``config`` (run ``run_id``'s) and switch to the Distill page."""
    st.session_state[LOAD_KEY] = {"run_id": int(run_id), "config": dict(config)}
    st.switch_page("pages/distill.py")


def _option_value(cls, name: str, value: Any) -> Any:
    """A method option as its widget holds it (net None → 'auto', text None → '', numbers in the field's type)."""
    import dataclasses

    from .forms import AUTO

    types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    typ = types.get(name, "")
    if name == "net":
        return value or AUTO
    if typ.startswith("bool"):
        return bool(value)
    if typ.startswith("int") and value is not None:
        return int(value)
    if typ.startswith("float") and value is not None:
        return float(value)
    if value is None:
        return ""
    return value


def widget_values(config: dict, default_protocol: str = "quick") -> dict[str, Any]:
    """The Distill form's widget keys and values for a run's ``config`` (a ``RunConfig`` dict)."""
    from dd_core.config import PROTOCOLS
    from dd_core.methods import METHODS

    method = config.get("method") or "dm"
    dataset = config.get("dataset") or "mnist-5k"
    out: dict[str, Any] = {f"{P}.dataset": dataset, f"{P}.method": method, f"{P}.preset": "none"}
    path = (config.get("dataset_options") or {}).get("path")
    if path:
        out[f"{P}.path.{dataset}.path"] = str(path)
    cls = METHODS[method].config_cls
    for name, value in (config.get("method_options") or {}).items():
        if name in cls.fields():
            out[f"{P}.{method}.{name}"] = _option_value(cls, name, value)
    iterations = int(config.get("iterations") or 0)
    out[f"{P}.iterations"] = iterations
    eval_at = list(config.get("eval_at") or [])
    out[f"{P}.eval_at"] = "final" if eval_at == [iterations] else (",".join(map(str, eval_at)) or "none")
    out[f"{P}.eval_nets"] = list(config.get("eval_nets") or [])
    ev = config.get("eval") or {}
    protocol = ev.get("protocol") if ev.get("protocol") in PROTOCOLS else default_protocol
    out[f"{P}.protocol"] = protocol
    if ev.get("epochs") is not None:
        out[f"{P}.eval_epochs.{protocol}"] = int(ev["epochs"])
    if ev.get("n_models") is not None:
        out[f"{P}.eval_models.{protocol}"] = int(ev["n_models"])
    out[f"{P}.reference"] = bool(config.get("reference", True))
    return out


def apply_load() -> int | None:
    """On the Distill page, before its form is drawn: put a requested run's settings into the form's widgets (the
    other edited fields are forgotten); returns the run id loaded, or None."""
    request = st.session_state.pop(LOAD_KEY, None)
    if not request:
        return None
    from dd_core.config import default_protocol
    from dd_core.device import pick_device

    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(P + ".")]:
        if key.split(".")[1] not in KEEP:
            del st.session_state[key]
    for key, value in widget_values(request["config"], default_protocol(pick_device())).items():
        st.session_state[key] = value
    st.session_state[LOADED_KEY] = request["run_id"]
    return int(request["run_id"])


def announce_loaded() -> None:
    """'Settings of run #N loaded into the form', once after a load."""
    run_id = st.session_state.pop(LOADED_KEY, None)
    if run_id is not None:
        st.success(
            f"The settings of run #{run_id} are in the form (preset: none). Press **Start** to run them again.",
            icon=":material/input:",
        )
