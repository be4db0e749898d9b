"""Distill page: configure a run in the sidebar (every hyper-parameter, with defaults and help), Start / Stop, and
watch it live (progress, loss curve, latest snapshot, evaluations). The watched run id lives in the URL (``?run=N``)
so a refresh or a page switch comes back to the same run."""

from __future__ import annotations

import streamlit as st

from dd_core.config import PROTOCOLS, EvalConfig, default_protocol
from dd_core.data import DATASETS, dataset_info, dataset_status
from dd_core.device import pick_device
from dd_core.errors import ConfigError, DDError
from dd_core.methods import METHODS
from dd_core.nets import NET_NAMES
from dd_core.spec import RunConfig

from . import forms
from .boundary import safe
from .distill_load import announce_loaded, apply_load
from .fmt import method_description, method_label, protocol_text
from .helptext import HELP, LABELS
from .live import run_panel
from .run_actions import announce_deleted, default_run, picked
from .store_access import list_runs, reap_now, submit_and_watch
from .widgets import dataset_path_input, select_run_param, watch_picker

P = "distill"  # widget key prefix


def _k(*parts) -> str:
    return ".".join([P, *map(str, parts)])


PRESET_NONE = "none"
KEEP_ON_PRESET = ("dataset", "path", "method", "preset", "last_run", "start")  # key parts a preset never resets


def _reset_to_preset() -> None:
    """A new preset: forget the edited fields so they redraw with the preset's values (dataset and method stay)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(P + ".")]:
        if key.split(".")[1] not in KEEP_ON_PRESET:
            del st.session_state[key]


def preset_defaults(preset: str, method: str) -> dict:
    """The preset's values for ``method`` ({} for 'none' or a preset without that method)."""
    from dd_core.presets import PRESETS

    if preset == PRESET_NONE or method not in PRESETS.get(preset, {}):
        return {}
    return dict(PRESETS[preset][method])


def sidebar_form() -> tuple[RunConfig | None, list[str]]:
    """Draw the form (into the current container: the sidebar), validate all of it and show each error under its
    field; return (a validated RunConfig or None, messages tied to no field)."""
    sb = st
    on_gpu = pick_device().type == "cuda"
    errors = forms.FormErrors()
    slots: dict = {}

    sb.header("Data")
    dataset = sb.selectbox(
        LABELS["dataset"],
        DATASETS,
        index=DATASETS.index("mnist-5k"),
        key=_k("dataset"),
        help="Where the real images come from (see the home page for each one's status).",
    )
    path = dataset_path_input(dataset, _k("path"), sb)
    ds_status = dataset_status(dataset, path=path)
    if ds_status.status == "missing" and not path and dataset not in ("mhist", "folder"):
        sb.error(f"{ds_status.detail}. **Fix:** {ds_status.fix}")
    elif ds_status.status == "will download":
        sb.warning(f"{ds_status.detail}." + (f" **If offline:** {ds_status.fix}" if ds_status.fix else ""))
    info = dataset_info(dataset)
    dataset_options = {"path": path} if path else {}
    smallest = forms.smallest_class(dataset, info)

    sb.header("Method")
    methods = list(METHODS)
    method = sb.selectbox(
        LABELS["method"],
        methods,
        index=methods.index("dm") if "dm" in methods else 0,
        format_func=lambda m: method_label(m),
        key=_k("method"),
    )
    if method_description(method):
        sb.caption(method_description(method))
    from dd_core.presets import PRESETS

    presets = [*PRESETS, PRESET_NONE]
    preset = sb.selectbox(
        LABELS["preset"],
        presets,
        index=presets.index("paper" if on_gpu else "cpu-demo"),
        key=_k("preset"),
        on_change=_reset_to_preset,
        help=HELP["preset"],
    )
    pre = preset_defaults(preset, method)
    cls = METHODS[method].config_cls
    iterative = getattr(METHODS[method], "iterative", True)
    fields = {f.name: f for f in forms.config_fields(cls)}
    values: dict = {}

    def widget(name: str, container) -> None:
        f = fields[name]
        values[name] = forms.field_widget(
            container,
            cls,
            f,
            _k(method, name),
            method,
            default=pre.get(name),
            net_options=list(NET_NAMES),
            max_value=smallest[0] if name == "ipc" and smallest else None,
        )
        slots[name] = container.empty()

    for name in forms.SET_FIELDS:
        if name in fields:
            widget(name, sb)
    iterations = 0
    if iterative:
        iterations = int(
            sb.number_input(
                LABELS["iterations"],
                value=pre.get("iterations", 20000 if on_gpu else 200),
                step=100,
                format="%d",
                key=_k("iterations"),
                help=HELP["iterations"],
            )
        )
        slots["iterations"] = sb.empty()
    rest = [n for n in fields if n not in forms.SET_FIELDS and n not in forms.DSA_FIELDS]
    with sb.expander("Augmentation (DSA)", expanded=False):
        for name in forms.DSA_FIELDS:
            if name in fields:
                widget(name, st)
    if rest:
        with sb.expander(f"{method_label(method)} hyper-parameters", expanded=True):
            for name in rest:
                widget(name, st)

    sb.header("Evaluation")
    eval_at_text = "final"
    if iterative:
        eval_at_text = sb.text_input(
            LABELS["eval_at"], value=pre.get("eval_at", "final"), key=_k("eval_at"), help=HELP["eval_at"]
        )
        slots["eval_at"] = sb.empty()
    eval_nets = sb.multiselect(
        LABELS["eval_nets"],
        list(NET_NAMES),
        default=[],
        key=_k("eval_nets"),
        placeholder="the distillation net",
        help=HELP["eval_nets"],
    )
    slots["eval_nets"] = sb.empty()
    protocols = list(PROTOCOLS)
    protocol = sb.selectbox(
        LABELS["protocol"],
        protocols,
        index=protocols.index(pre.get("protocol") or default_protocol(pick_device())),
        key=_k("protocol"),
        help=HELP["protocol"],
    )
    c1, c2 = sb.columns(2)
    epochs = int(
        c1.number_input(
            LABELS["eval_epochs"],
            value=pre.get("eval_epochs", PROTOCOLS[protocol]["epochs"]),
            step=50,
            format="%d",
            key=_k("eval_epochs", protocol),
            help=HELP["eval_epochs"],
        )
    )
    slots["eval_epochs"] = c1.empty()
    models = int(
        c2.number_input(
            LABELS["eval_models"],
            value=pre.get("eval_models", PROTOCOLS[protocol]["n_models"]),
            step=1,
            format="%d",
            key=_k("eval_models", protocol),
            help=HELP["eval_models"],
        )
    )
    slots["eval_models"] = c2.empty()
    recorded_slot = sb.empty()  # the protocol the run will record, once the fields validate (below)
    reference = sb.checkbox(LABELS["reference"], value=True, key=_k("reference"), help=HELP["reference"])

    # ---- validation of the whole form: every error under its field, the rest under the Start button
    eval_at = validate_form(errors, method, values, dataset, info, iterative, iterations, eval_at_text, eval_nets)
    ecfg = None
    for field, kw in (("eval_epochs", {"epochs": epochs}), ("eval_models", {"n_models": models})):
        try:
            EvalConfig.from_protocol(protocol, epochs=kw.get("epochs"), n_models=kw.get("n_models"))
        except ConfigError as err:
            errors.add(err, field)
    if not errors.fields.keys() & {"eval_epochs", "eval_models"}:
        try:
            ecfg = EvalConfig.from_protocol(protocol, epochs=epochs, n_models=models)
        except ConfigError as err:
            errors.add(err)
    if ecfg is not None:  # a named protocol only when epochs and models are its own, else 'custom'
        recorded_slot.caption(f"Recorded as **{protocol_text(ecfg.to_dict())}**")
    if ds_status.status == "missing":
        errors.general.append(f"Dataset {dataset}: {ds_status.detail}")
    cfg = None
    if not errors:
        cfg = RunConfig(
            kind="distill",
            dataset=dataset,
            dataset_options=dataset_options,
            method=method,
            method_options=dict(values),  # every hyper-parameter recorded explicitly with the run
            iterations=iterations,
            eval_at=eval_at if iterative else [0],
            eval_nets=eval_nets or None,
            eval=ecfg.to_dict() if ecfg else None,
            reference=reference,
        )
        try:
            cfg.validate()
        except DDError as err:
            errors.add(err)
            cfg = None
    errors.show(slots)
    return cfg, errors.general


def validate_form(
    errors: forms.FormErrors,
    method: str,
    values: dict,
    dataset: str,
    info: dict,
    iterative: bool,
    iterations: int,
    eval_at_text: str,
    eval_nets: list[str],
) -> list[int]:
    """Record every error of the method's options, IPC's bound, the nets and the schedule in ``errors`` (with
    the engine's validators); return the evaluation iterations."""
    from dd_core.config import check_schedule
    from dd_core.presets import parse_eval_at

    checked = dict(values)
    ipc_problem = forms.ipc_problem(values.get("ipc"), dataset, info)
    if ipc_problem:
        errors.add(ipc_problem, "ipc")
        checked["ipc"] = 1  # the other options are still checked
    for field, err in forms.method_errors(method, checked):
        errors.add(err, field)
    net_problem = forms.check_net(values.get("net"), info)
    if net_problem:
        errors.add(net_problem, "net")
    for name in eval_nets:
        problem = forms.check_net(name, info)
        if problem:
            errors.add(problem, "eval_nets")
    eval_at: list[int] = []
    try:
        check_schedule(iterations, [])
    except ConfigError as err:
        errors.add(err, "iterations")
        return eval_at
    try:
        eval_at = check_schedule(iterations, parse_eval_at(eval_at_text, iterations)) if iterative else []
    except ConfigError as err:
        errors.add(err, "eval_at")
    return eval_at


@st.fragment
@safe
def form_fragment() -> None:
    """The sidebar form as a fragment: editing a field reruns only the form, not the live view of a run
    (interactions stay fast while a run is drawn every second); Start reruns the whole page."""
    cfg, problems = sidebar_form()
    start = st.button(
        "Start", icon=":material/play_arrow:", type="primary", key=_k("start"), disabled=cfg is None, width="stretch"
    )
    for msg in problems:
        st.error(msg)
    if cfg is None and not problems:
        st.caption("Fix the fields marked above to start.")
    if start and cfg is not None:
        submit_and_watch(cfg)


@safe
def render() -> None:
    reap_now()
    apply_load()  # another page's "Load into Distill": its run's settings into the form's widgets, before they draw
    st.title("Distill")
    announce_loaded()
    with st.sidebar:
        form_fragment()

    deleted = announce_deleted()
    run_id = select_run_param()
    runs = list_runs(kind="distill", limit=30)
    if run_id is None and (run_id := default_run(runs, _k("last_run"))) is not None:
        st.query_params["run"] = str(run_id)
    run_id = watch_picker(runs, run_id, _k("watch"))
    picked(run_id)
    if run_id is None:
        if deleted:
            return
        st.info(
            "Configure a run in the sidebar and press **Start**. It runs in a background worker: you can "
            "switch pages or refresh and come back to it."
        )
        return
    st.session_state[_k("last_run")] = run_id
    run_panel(run_id, where="distill")
