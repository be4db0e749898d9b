"""Baseline page: whole-dataset training (the upper bound) as a background job, with a live loss / accuracy curve
and its FLOPs; finished baselines are the Compare page's reference rows."""

from __future__ import annotations

import streamlit as st

from dd_core.config import BaselineConfig
from dd_core.data import DATASETS, dataset_info, dataset_status
from dd_core.errors import DDError
from dd_core.nets import NET_NAMES, default_net_for
from dd_core.spec import RunConfig

from . import forms
from .boundary import safe
from .fmt import fmt_acc, fmt_flops, fmt_seconds
from .helptext import BASELINE_LABELS, HELP
from .live import run_panel
from .messages import BASELINE_ALIASES
from .run_actions import announce_deleted, default_run, picked
from .store_access import list_runs, reap_now, submit_and_watch
from .widgets import dataset_path_input, select_run_param, watch_picker

P = "baseline"


def form() -> tuple[RunConfig | None, list[str]]:
    """Draw the form, validate all of it (BaselineConfig, the net for the dataset) and show each error under its
    field; return (a validated RunConfig or None, messages tied to no field)."""
    sb = st  # drawn inside ``with st.sidebar`` (a fragment)
    L = BASELINE_LABELS
    slots: dict = {}
    sb.header("Whole-dataset training")
    dataset = sb.selectbox(L["dataset"], DATASETS, index=DATASETS.index("mnist-5k"), key=f"{P}.dataset")
    path = dataset_path_input(dataset, f"{P}.path", sb)
    status = dataset_status(dataset, path=path)
    if status.status == "missing" and dataset not in ("mhist", "folder"):
        sb.error(f"{status.detail}. **Fix:** {status.fix}")
    elif status.status == "will download":
        sb.warning(f"{status.detail}." + (f" **If offline:** {status.fix}" if status.fix else ""))
    info = dataset_info(dataset)
    size = info.get("image_size") or 32
    nets = list(NET_NAMES)
    default = default_net_for(size)
    net = sb.selectbox(
        L["net"],
        nets,
        index=nets.index(default) if default in nets else 0,
        key=f"{P}.net.{dataset}",
        help=HELP["baseline_net"],
    )
    slots["net"] = sb.empty()
    d = BaselineConfig()
    epochs = int(
        sb.number_input(
            L["epochs"], value=d.epochs, step=1, format="%d", key=f"{P}.epochs", help=HELP["baseline_epochs"]
        )
    )
    slots["epochs"] = sb.empty()
    c1, c2 = sb.columns(2)
    lr = float(c1.number_input(L["lr"], value=d.lr, step=0.001, format="%g", key=f"{P}.lr", help=HELP["baseline_lr"]))
    slots["lr"] = c1.empty()
    momentum = float(
        c2.number_input(
            L["momentum"], value=d.momentum, step=0.05, format="%g", key=f"{P}.momentum", help=HELP["baseline_momentum"]
        )
    )
    slots["momentum"] = c2.empty()
    c3, c4 = sb.columns(2)
    wd = float(
        c3.number_input(
            L["weight_decay"],
            value=d.weight_decay,
            step=1e-4,
            format="%g",
            key=f"{P}.wd",
            help=HELP["baseline_weight_decay"],
        )
    )
    slots["weight_decay"] = c3.empty()
    batch = int(
        c4.number_input(
            L["batch_size"],
            value=d.batch_size,
            step=32,
            format="%d",
            key=f"{P}.batch",
            help=HELP["baseline_batch_size"],
        )
    )
    slots["batch_size"] = c4.empty()
    dsa = sb.checkbox(L["dsa"], value=d.dsa, key=f"{P}.dsa", help=HELP["baseline_dsa"])
    slots["dsa"] = sb.empty()
    seed = int(sb.number_input(L["seed"], value=d.seed, step=1, format="%d", key=f"{P}.seed"))
    slots["seed"] = sb.empty()
    options = {
        "net": net,
        "epochs": epochs,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": wd,
        "batch_size": batch,
        "dsa": dsa,
        "seed": seed,
    }
    # ---- validation of the whole form: every error under its field, the rest under the Start button
    errors = forms.FormErrors(L, BASELINE_ALIASES)
    defaults = {k: v for k, v in d.to_dict().items() if k in options}
    for field, err in forms.config_errors(
        lambda v: BaselineConfig(dataset=dataset, **v), options, defaults, BASELINE_ALIASES
    ):
        errors.add(err, field)
    net_problem = forms.check_net(net, info)
    if net_problem:
        errors.add(net_problem, "net")
    if status.status == "missing":
        errors.general.append(f"Dataset {dataset}: {status.detail}")
    cfg = None
    if not errors:
        cfg = RunConfig(
            kind="baseline",
            dataset=dataset,
            dataset_options={"path": path} if path else {},
            method=None,
            baseline=options,
            label=f"whole {dataset} · {net}",
        )
        try:
            cfg.validate()
        except DDError as err:
            errors.add(err)
            cfg = None
    errors.show(slots)
    return cfg, errors.general


def flops_block(cfg: RunConfig | None) -> None:
    if cfg is None:
        return
    from dd_core.flops import training_flops

    from .compare_page import flops_of

    info = dataset_info(cfg.dataset)
    if not (info.get("channels") and info.get("image_size") and info.get("num_classes")):
        return
    baseline = cfg.baseline or {}
    net = baseline["net"]
    f = flops_of(net, int(info["channels"]), int(info["num_classes"]), int(info["image_size"]))
    if not f:
        return
    n = info.get("train_size")
    c1, c2, c3 = st.columns(3)
    c1.metric(f"{net} forward FLOPs / image", fmt_flops(f["flops_per_image"]))
    c2.metric("parameters", f"{f['params']:,}")
    if n:
        c3.metric(
            f"training compute ({n:,} images × {baseline['epochs']} epochs)",
            fmt_flops(training_flops(f["flops_per_image"], int(n), int(baseline["epochs"]))),
        )
    st.caption("fvcore counts (1 multiply-add = 1 FLOP); training ≈ 3 × forward × images × epochs.")


@st.fragment
@safe
def form_fragment() -> None:
    """The sidebar form as a fragment (editing it does not redraw the live curve); Start reruns the page."""
    cfg, problems = form()
    start = st.button(
        "Start", icon=":material/play_arrow:", type="primary", key=f"{P}.start", disabled=cfg is None, width="stretch"
    )
    for p in problems:
        st.error(p)
    if cfg is None and not problems:
        st.caption("Fix the fields marked above to start.")
    if start and cfg is not None:
        submit_and_watch(cfg)
    with st.expander("Compute of this configuration", expanded=False):
        flops_block(cfg)


@safe
def render() -> None:
    reap_now()
    st.title("Baseline: whole-dataset training")
    st.caption(
        "The upper bound every distiller is compared with (seed deck: ConvNet-3 on MNIST, ConvNet-7 on "
        "MHIST; SGD lr 0.01, momentum 0.9, cosine annealing over all steps, batch 256, 20 epochs, no DSA). "
        "The latest finished baseline of a dataset is the reference row on the Compare page."
    )
    with st.sidebar:
        form_fragment()

    deleted = announce_deleted()
    runs = list_runs(kind="baseline", limit=30)
    run_id = select_run_param()
    if run_id is None and (run_id := default_run(runs, f"{P}.last_run")) is not None:
        st.query_params["run"] = str(run_id)
    run_id = watch_picker(runs, run_id, f"{P}.watch")
    picked(run_id)
    if run_id is None:
        if deleted:
            return
        st.info("Configure the training in the sidebar and press **Start**.")
        return
    st.session_state[f"{P}.last_run"] = run_id
    run_panel(run_id, where="baseline")
    done = [r for r in runs if r["status"] == "done" and r.get("summary")]
    if done:
        st.subheader("Finished baselines")
        st.dataframe(
            [
                {
                    "run": r["id"],
                    "dataset": r["dataset"],
                    "net": r["summary"].get("net"),
                    "epochs": r["summary"].get("epochs"),
                    "test accuracy (%)": fmt_acc(r["summary"].get("test_acc")),
                    "time": fmt_seconds(r["summary"].get("seconds")),
                    "device": r["summary"].get("device"),
                }
                for r in done
            ],
            hide_index=True,
        )
