"""The Sweep page's form: methods × a grid × seeds, the fixed settings and the resources; the trials it makes
(``dd_core.cli.sweep.plan``, validated as the command validates them) previewed before Start, every error under its
field in the form's words. Start queues the sweep's driver job for the background worker (``submit_sweep``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import streamlit as st

from dd_core.errors import DDError

from .boundary import safe
from .fmt import method_label
from .forms import ipc_problem, show_error
from .store_access import get_store
from .sweep_access import invalidate
from .sweep_inputs import PRESET_NONE, SweepInputs, column_label, grid_key_options, key_label, key_methods
from .sweep_messages import FORM_LABELS, sweep_error
from .widgets import dataset_path_input

P = "sweep"  # widget key prefix
NO_KEY = ""  # the 'no grid key' choice
MAX_KEYS = 2  # grid keys besides IPC and the seeds


def _k(*parts) -> str:
    return ".".join([P, *map(str, parts)])


def ray_missing() -> str | None:
    """Why sweeps cannot run here (Ray is not installed: the command that installs it), or None. Ray itself is
    never imported by the page."""
    if importlib.util.find_spec("ray") is not None:
        return None
    from dd_core.sweeps.ray_env import RayError, require_ray

    try:
        require_ray()
    except RayError as err:
        return str(err)
    return None


@dataclass
class Plan:
    """The trials of the form's sweep (empty when it does not validate) and its errors: ``fields`` {form field:
    message} and ``general`` (tied to no field)."""

    trials: list = field(default_factory=list)
    fixed: dict = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, slot: str | None, message: str) -> None:
        if slot is not None and slot not in self.fields:
            self.fields[slot] = message
        elif slot is None and message not in self.general:
            self.general.append(message)

    @property
    def ok(self) -> bool:
        return bool(self.trials) and not self.fields and not self.general


@st.cache_data(show_spinner=False, max_entries=32)
def _planned(argv: tuple[str, ...]) -> tuple[list[dict], dict, str | None, str | None]:
    """``plan(argv)`` as (trials as dicts, fixed part, error message, its field): cached, the form reruns often."""
    from dd_core.cli.sweep import plan
    from dd_core.errors import ConfigError

    try:
        trials, fixed = plan(list(argv))
    except ConfigError as err:
        return [], {}, str(err), getattr(err, "field", None)
    return [t.to_dict() for t in trials], fixed, None, None


def plan_of(inputs: SweepInputs, labels: dict[str, str]) -> Plan:
    """Validate the form's sweep: the engine's plan, then what only this machine knows (a local Ray's CPUs, the
    dataset's smallest class for each IPC value)."""
    from dd_core.sweeps.trials import Trial

    out = Plan()
    trials, fixed, error, err_field = _planned(tuple(inputs.argv()))
    if error is not None:
        out.add(*sweep_error(error, err_field, inputs.grid_slots(), labels))
    out.trials, out.fixed = [Trial.from_dict(t) for t in trials], fixed
    local_problems(inputs, out)
    if out.fields or out.general:
        out.trials = []
    return out


def local_problems(inputs: SweepInputs, out: Plan) -> None:
    """Errors a plan cannot see: more CPUs / GPUs per trial than a local Ray has, IPC above the smallest class."""
    from dd_core.data import dataset_info, dataset_status
    from dd_core.sweeps.resources import machine_cpus

    if inputs.address.strip():
        from dd_core.errors import ConfigError
        from dd_core.sweeps.ray_env import host_port

        try:
            host_port(inputs.address.strip())
        except ConfigError as err:
            out.add(*sweep_error(str(err), "address"))
    else:
        have = machine_cpus()
        if inputs.cpus is not None and inputs.cpus > have:
            cpus = f"{have} CPU{'s' if have != 1 else ''}"
            out.add("cpus", f"{FORM_LABELS['cpus']}: this machine has {cpus}; a local Ray cannot give a trial more")
        if inputs.gpus:
            import torch

            gpus = torch.cuda.device_count()
            if inputs.gpus > gpus:
                out.add("gpus", f"{FORM_LABELS['gpus']}: this machine has {gpus} GPU{'s' if gpus != 1 else ''}")
    if not inputs.address.strip():  # a cluster's nodes may have a dataset this machine lacks
        status = dataset_status(inputs.dataset, path=inputs.path)
        if status.status == "missing":
            out.add("dataset", f"{FORM_LABELS['dataset']} {inputs.dataset}: {status.detail}. Fix: {status.fix}")
    info = dataset_info(inputs.dataset)
    for text in inputs.ipc.split(","):
        if text.strip().isdigit():
            problem = ipc_problem(int(text), inputs.dataset, info)
            if problem:
                out.add("ipc", f"{FORM_LABELS['ipc']}: {problem}")
                break


def draw_form(on_gpu: bool) -> tuple[SweepInputs, dict, dict[str, str]]:
    """Draw the form's widgets; return (its values, an error slot per field, labels of the grid-key fields)."""
    from dd_core.data import DATASETS, dataset_status
    from dd_core.methods import METHODS
    from dd_core.presets import PRESETS
    from dd_core.sweeps.resources import DEFAULT_CPUS_PER_TRIAL, machine_cpus

    from .helptext import HELP, LABELS

    slots: dict = {}
    c1, c2 = st.columns(2)
    with c1:
        methods = st.multiselect(
            FORM_LABELS["methods"],
            list(METHODS),
            default=["dm"],
            format_func=method_label,
            key=_k("methods"),
            help="Every method runs every grid point with every seed.",
        )
        slots["methods"] = st.empty()
        dataset = st.selectbox(LABELS["dataset"], DATASETS, index=DATASETS.index("mnist-5k"), key=_k("dataset"))
        slots["dataset"] = st.empty()
        path = dataset_path_input(dataset, _k("path"))
        if dataset_status(dataset, path=path).status == "will download":
            st.caption(f"{dataset} is downloaded by the first trial that needs it.")
        slots["path"] = st.empty()
        presets = [*PRESETS, PRESET_NONE]
        preset = st.selectbox(
            LABELS["preset"],
            presets,
            index=presets.index("paper" if on_gpu else "cpu-demo"),
            key=_k("preset"),
            help=HELP["preset"] + " The grid and the fixed settings below override it.",
        )
        slots["preset"] = st.empty()
    with c2:
        ipc = st.text_input(
            FORM_LABELS["ipc"],
            value="1,10",
            key=_k("ipc"),
            help="Comma-separated images per class, e.g. 1,10,50 (empty: the preset's).",
        )
        slots["ipc"] = st.empty()
        grid: list[tuple[str, str]] = []
        labels: dict[str, str] = {}
        options = grid_key_options(methods)
        for i in range(1, MAX_KEYS + 1):
            taken = [k for k, _ in grid]
            key = st.selectbox(
                f"Grid key {i}",
                [NO_KEY, *[o for o in options if o not in taken]],
                format_func=lambda k: "none" if k == NO_KEY else key_label(k, methods),
                key=_k("key", i),
                help="Another setting to vary: a hyper-parameter of the chosen methods, or a run option.",
            )
            if key != NO_KEY:
                values = st.text_input(
                    f"{key_label(key)} values",
                    key=_k("values", i, key),
                    placeholder="comma-separated, e.g. 0.1,1,10",
                )
                grid.append((key, values))
                labels[f"grid{i}"] = f"{key_label(key)} values"
            slots[f"grid{i}"] = st.empty()
            if key == NO_KEY:
                break
        seeds = st.text_input(
            FORM_LABELS["seeds"],
            value="0,1",
            key=_k("seeds"),
            help="Comma-separated seeds: every grid point runs once per seed (the results average over them).",
        )
        slots["seeds"] = st.empty()
    with st.expander("Fixed settings of every trial (empty: the preset's)", expanded=False):
        f1, f2, f3 = st.columns(3)
        fixed: dict = {}
        for col, name, step in ((f1, "iterations", 100), (f2, "eval_models", 1), (f3, "eval_epochs", 50)):
            with col:
                v = st.number_input(
                    FORM_LABELS[name], value=None, step=step, format="%d", key=_k(name), placeholder="preset"
                )
                fixed[name] = None if v is None else int(v)
                slots[name] = st.empty()
    with st.expander("Resources (Ray)", expanded=False):
        r1, r2 = st.columns(2)
        with r1:
            cpus = st.number_input(
                FORM_LABELS["cpus"],
                value=DEFAULT_CPUS_PER_TRIAL,
                step=1.0,
                format="%g",
                key=_k("cpus"),
                help=f"Ray CPUs of each trial, also its PyTorch threads. Default {DEFAULT_CPUS_PER_TRIAL:g}: as many "
                f"trials at a time as this machine has cores ({machine_cpus()}), the faster on a small CPU.",
            )
            slots["cpus"] = st.empty()
            gpus = 0.0
            if on_gpu:
                gpus = st.number_input(
                    FORM_LABELS["gpus"],
                    value=1.0,
                    step=0.25,
                    format="%g",
                    key=_k("gpus"),
                    help="Ray GPUs of each trial (fractions share a GPU); 0 runs the trials on the CPU.",
                )
                slots["gpus"] = st.empty()
        with r2:
            address = st.text_input(
                FORM_LABELS["address"],
                key=_k("address"),
                placeholder="blank: a local Ray on this machine",
                help="An existing Ray cluster: auto, HOST:PORT or ray://HOST:PORT.",
            )
            slots["address"] = st.empty()
            dashboard = st.checkbox(
                "Ray dashboard", key=_k("dashboard"), help="Start the local Ray with its dashboard."
            )
    inputs = SweepInputs(
        methods=list(methods),
        dataset=dataset,
        path=path,
        preset=preset,
        ipc=ipc,
        grid=grid,
        seeds=seeds,
        cpus=cpus,
        gpus=float(gpus or 0.0),
        address=address,
        dashboard=dashboard,
        **fixed,
    )
    return inputs, slots, labels


def preview_rows(trials: list) -> list[dict]:
    """One row per trial: its method, grid values, seed and what it runs."""
    keys = [k for t in trials for k in t.params]
    keys = list(dict.fromkeys(keys))
    from dd_core.methods import METHODS

    rows = []
    for t in trials:
        c = t.config
        ev = c.get("eval") or {}
        iterative = getattr(METHODS.get(t.method), "iterative", True)
        row = {"trial": t.index, "method": method_label(t.method)}
        row.update({column_label(k): t.params.get(k) for k in keys})
        row.update(
            seed=t.seed,
            iterations=str(c.get("iterations")) if iterative else "—",
            evaluation=f"{ev.get('n_models')} × {ev.get('epochs')} epochs",
            device=c.get("device"),
        )
        rows.append(row)
    return rows


def not_varied(inputs: SweepInputs) -> list[str]:
    """'Image learning rate is not varied for Random real (not in its settings)' for each grid key some methods
    lack."""
    lines = []
    for key, _ in inputs.grid:
        without = [m for m in inputs.methods if m not in key_methods(key, inputs.methods)]
        if without:
            names = ", ".join(method_label(m) for m in without)
            lines.append(f"{key_label(key)} is not varied for {names} (not one of its settings).")
    return lines


def preview(plan: Plan, inputs: SweepInputs) -> None:
    n = len(plan.trials)
    st.markdown(f"**{n} trial{'s' if n != 1 else ''}**: methods × grid × seeds, each an ordinary run.")
    for line in not_varied(inputs):
        st.caption(line)
    st.dataframe(preview_rows(plan.trials), hide_index=True, width="stretch")


def start(plan: Plan, inputs: SweepInputs) -> None:
    """Queue the sweep (the worker runs its driver, which runs the trials on Ray), put it in the URL, rerun."""
    from dd_core.sweeps.submit import submit_sweep

    from .messages import ui_message

    try:
        sweep_id, _ = submit_sweep(get_store(), plan.trials, plan.fixed, inputs.job())
    except DDError as err:
        st.error(ui_message(str(err)))
        return
    invalidate()
    st.query_params["sweep"] = str(sweep_id)
    st.rerun(scope="app")


@st.fragment
@safe
def form_fragment() -> None:
    """The form as a fragment: editing it reruns only the form (the watched sweep keeps polling); Start reruns the
    whole page."""
    from dd_core.device import pick_device

    missing = ray_missing()
    if missing:
        st.warning(f"Sweeps cannot start here: {missing}.", icon=":material/warning:")
    inputs, slots, labels = draw_form(pick_device().type == "cuda")
    plan = plan_of(inputs, labels)
    for name, slot in slots.items():
        show_error(slot, plan.fields.get(name))
    for name, text in plan.fields.items():
        if name not in slots:
            plan.general.append(text)
    for text in plan.general:
        st.error(text, icon=":material/error:")
    if plan.ok:
        preview(plan, inputs)
    elif not plan.general and not plan.fields:
        st.caption("No trial to run.")
    clicked = st.button(
        "Start sweep",
        icon=":material/play_arrow:",
        type="primary",
        key=_k("start"),
        disabled=not plan.ok or bool(missing),
    )
    if clicked and plan.ok and not missing:
        start(plan, inputs)
