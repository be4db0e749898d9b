"""Gallery page: any run's synthetic images per class, a slider over its snapshots and their animation (play,
download as GIF), initial vs final (vs latest while the run goes, redrawn as it goes), DataDAM's attention maps for
AM runs, downloads (PNG grid, .pt), and import of a .pt set (validated) to evaluate it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import streamlit as st

from dd_core.config import EvalConfig
from dd_core.errors import DDError
from dd_core.nets import NET_NAMES
from dd_core.paths import data_home
from dd_core.runs.store import ACTIVE_STATUSES
from dd_core.synthetic import SyntheticSet

from . import charts
from .boundary import safe
from .fmt import PLOTLY_CONFIG, eval_acc, net_label, protocol_text, run_title
from .images import PNG, attention_tiles, load_set, png_bytes, snapshot_png, snapshots_gif
from .messages import run_error, ui_message
from .settings import dataset_options_for
from .store_access import get_store, invalidate, list_runs, reap_now
from .widgets import select_run_param, status_badge

P = "gallery"


def imported_dir() -> Path:
    d = data_home() / "imported"
    d.mkdir(parents=True, exist_ok=True)
    return d


@st.cache_resource(max_entries=2, show_spinner="Loading the real dataset…")
def real_data(name: str, options: tuple):
    """The real dataset, loaded once per process (for attention maps)."""
    from dd_core.data import load_dataset

    return load_dataset(name, **dict(options))


def set_summary(syn: SyntheticSet) -> str:
    m = syn.meta
    return (
        f"{m.get('method')} · {m.get('dataset')} · IPC {m.get('ipc')} · iteration {m.get('iteration')} · "
        f"{m.get('num_classes')} classes of {m.get('channels')}×{m.get('image_size')}×{m.get('image_size')}"
        + (" · soft labels" if syn.soft_labels is not None else "")
        + (f" · learned lr {syn.lr:.4g}" if syn.lr is not None else "")
    )


# ------------------------------------------------------------------------------------------------------- runs
REFRESH_S = 2.0  # the Gallery of an active run redraws this often (the Distill page's live view: every second)
GIF_EVERY = 5  # while a run goes, its animation is rebuilt once this many new snapshots have arrived


def set_word(run: dict) -> str:
    """What the run's newest set is called: 'final' once it is done, 'latest' while it runs, else 'last'."""
    if run["status"] == "done":
        return "final"
    return "latest" if run["status"] in ACTIVE_STATUSES else "last"


def run_panel(run_id: int) -> None:
    """The run's gallery; while the run is queued or running, a fragment redraws it every :data:`REFRESH_S` s (the
    timer stops when the run ends: one last rerun of the page draws it without one)."""
    run = get_store().get_run(run_id)
    if run is None:
        st.warning(f"Run #{run_id} no longer exists.")
        return
    active = run["status"] in ACTIVE_STATUSES

    @st.fragment(run_every=REFRESH_S if active else None)
    @safe
    def live() -> None:
        current = get_store().get_run(run_id)
        if current is None:
            st.warning(f"Run #{run_id} was deleted.")
            return
        run_view(current)
        if active and current["status"] not in ACTIVE_STATUSES:
            invalidate()
            st.rerun(scope="app")

    live()


def snapshot_slider(run: dict, iters: list[int]) -> int:
    """The snapshot picker; it follows the newest snapshot while the user has not picked another one."""
    key, latest = f"{P}.snap.{run['id']}", f"{P}.snap.{run['id']}.latest"
    picked = st.session_state.get(key)
    if picked not in iters or picked == st.session_state.get(latest):
        st.session_state[key] = iters[-1]
    st.session_state[latest] = iters[-1]
    return st.select_slider(
        "Snapshot (iteration)",
        options=iters,
        key=key,
        help="Watch the images evolve from the initial set (0) to the newest snapshot.",
    )


def run_view(run: dict) -> None:
    store = get_store()
    snaps = store.snapshots(run["id"])
    status_badge(run)
    if run["status"] == "running":
        total = run.get("total_iterations") or run["config"].get("iterations")
        st.caption(
            f"Running: iteration {run.get('iteration') or 0} of {total}; the snapshots below follow the run "
            f"(updated every {REFRESH_S:g} s)."
        )
    if run.get("error") and run["status"] in ("failed", "interrupted"):
        st.warning(f"{run['status']}: {run_error(run['error'], run['kind'])}")
    if not snaps:
        st.info("This run has no snapshot yet." + (" It is still queued." if run["status"] == "queued" else ""))
        return
    iters = [s["iteration"] for s in snaps]
    play = len(iters) > 1 and st.toggle(
        "Play",
        key=f"{P}.play.{run['id']}",
        help="Play the snapshots as an animation (one frame per kept snapshot).",
    )
    if play:
        shown = snaps
        if run["status"] in ACTIVE_STATUSES:  # redrawn every GIF_EVERY new snapshots, not at each one
            shown = snaps[: max(2, len(snaps) - len(snaps) % GIF_EVERY)]
        st.image(
            snapshots_gif(shown, run.get("total_iterations")),
            caption=f"{len(shown)} snapshots, one frame each (iteration {iters[0]} → {shown[-1]['iteration']})"
            + (f"; redrawn every {GIF_EVERY} new snapshots while the run goes" if len(shown) < len(snaps) else ""),
        )
        it = iters[-1]
    elif len(iters) > 1:
        it = snapshot_slider(run, iters)
    else:
        it = iters[0]
        st.caption(f"One snapshot, at iteration {it}.")
    snap = snaps[iters.index(it)]
    syn = load_set(snap["abs_path"])
    st.caption(set_summary(syn))
    if not play:
        st.image(snapshot_png(snap["abs_path"]), caption=f"iteration {it}: one row per class", output_format=PNG)

    word = set_word(run)
    st.markdown(f"#### Initial vs {word}")
    final_path = (run.get("summary") or {}).get("synthetic_path")
    if not final_path or not Path(final_path).is_file():
        final_path = snaps[-1]["abs_path"]
    c1, c2 = st.columns(2)
    c1.image(
        snapshot_png(snaps[0]["abs_path"]), caption=f"initial (iteration {snaps[0]['iteration']})", output_format=PNG
    )
    final = load_set(final_path)
    c2.image(snapshot_png(final_path), caption=f"{word} (iteration {final.meta.get('iteration')})", output_format=PNG)

    d1, d2, d3, _ = st.columns([1, 1, 1, 1])
    d1.download_button(
        "PNG grid (this snapshot)",
        icon=":material/download:",
        data=snapshot_png(snap["abs_path"]),
        file_name=f"run{run['id']}-it{it}.png",
        mime="image/png",
        key=f"{P}.dlpng",
    )
    total = run.get("total_iterations")
    d3.download_button(
        "Download GIF",
        icon=":material/download:",
        data=lambda: gif_file(snaps, total),  # built on click: a GIF of every snapshot is not free
        file_name=f"run{run['id']}-snapshots.gif",
        mime="image/gif",
        key=f"{P}.dlgif",
        on_click="ignore",
        disabled=len(snaps) < 2,
        help="An animated GIF of the run's snapshots, one frame each, the iteration in every frame.",
    )
    d2.download_button(
        f"{word} set (.pt)",
        icon=":material/download:",
        data=Path(final_path).read_bytes(),
        file_name=f"run{run['id']}-synthetic.pt",
        mime="application/octet-stream",
        key=f"{P}.dlpt",
    )

    if run.get("method") == "am":
        attention_view(run, syn)
    evals = store.evals(run["id"])
    if evals:
        st.markdown("#### Evaluations of this run")
        st.dataframe(
            [
                {
                    "iteration": e.get("iteration"),
                    "net": net_label(e["net"]),
                    "accuracy (%)": eval_acc(e),
                    "protocol": protocol_text(e),
                }
                for e in evals
            ],
            hide_index=True,
        )


def gif_file(snaps: list[dict], total: int | None) -> bytes:
    """The GIF the download button hands over (the engine's, built when clicked: outside the script run)."""
    from dd_core.report.gif import snapshots_gif as make_gif

    return make_gif([(s["iteration"], s["abs_path"]) for s in snaps], total_iterations=total)


def attention_view(run: dict, syn: SyntheticSet) -> None:
    """DataDAM's spatial attention maps (what AM matches) of real and synthetic images of one class."""
    from dd_core.methods.attention_maps import attention_maps

    st.markdown("#### Attention maps (what AM matches)")
    cfg = (run.get("summary") or {}).get("config") or syn.meta.get("config") or {}
    power = float(cfg.get("power", 1.0))
    net = syn.meta.get("net") or cfg.get("net") or "convnet-3"
    names = syn.meta.get("class_names") or [str(c) for c in range(syn.num_classes)]
    c1, c2, c3 = st.columns([2, 1, 1])
    cls = c1.selectbox(
        "Class",
        list(range(syn.num_classes)),
        format_func=lambda c: f"{c}: {names[c]}",
        key=f"{P}.att.class.{run['id']}",
    )
    n_real = int(
        c2.number_input(
            "real images", min_value=1, max_value=32, value=min(8, max(syn.ipc, 4)), key=f"{P}.att.n.{run['id']}"
        )
    )
    seed = int(
        c3.number_input(
            "random net seed",
            value=0,
            step=1,
            key=f"{P}.att.seed.{run['id']}",
            help="AM draws a fresh random net every iteration; the maps depend on it.",
        )
    )
    st.caption(
        f"Spatial attention a_l(x) = normalize(Σ_channels |A_l(x)|^p) with p = {power:g}, per block of a "
        f"fresh random {net_label(net)}. AM matches the class means of every block except the last (which "
        "enters through the embedding term)."
    )
    opts = dict(run["config"].get("dataset_options") or dataset_options_for(run["dataset"]))
    try:
        real = real_data(run["dataset"], tuple(sorted(opts.items())))
    except DDError as err:
        st.error(f"cannot load the real images for the maps: {err}")
        return
    import torch

    members = real.class_indices[cls]
    g = torch.Generator().manual_seed(seed)
    pick = members[torch.randperm(len(members), generator=g)[:n_real]]
    real_x = real.train_images[pick]
    syn_x = syn.images[syn.labels == cls]
    syn_maps, real_maps = attention_maps(syn_x, real_x, net, power, seed, num_classes=syn.num_classes)
    matched = max(0, len(syn_maps) - 1)
    fig = charts.attention_figure(
        [m.mean(0).numpy() for m in real_maps],
        [m.mean(0).numpy() for m in syn_maps],
        matched,
        title=f"class {names[cls]}: class-mean attention per block",
    )
    st.plotly_chart(fig, key=f"{P}.attfig", config=PLOTLY_CONFIG)
    mean = torch.tensor(syn.meta["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(syn.meta["std"]).view(1, -1, 1, 1)
    a, b = st.columns(2)
    a.image(
        png_bytes(attention_tiles((real_x * std + mean).clamp(0, 1), real_maps)),
        caption="real images (top) and their maps per block (rows)",
        output_format=PNG,
    )
    b.image(
        png_bytes(attention_tiles((syn_x * std + mean).clamp(0, 1), syn_maps)),
        caption="synthetic images (top) and their maps per block (rows)",
        output_format=PNG,
    )


# --------------------------------------------------------------------------------------------------- imports
def import_block() -> None:
    st.markdown("#### Import a synthetic set (.pt)")
    st.caption(
        "A DistillLab set (`synthetic.pt`): loaded with weights_only (no code runs) and validated, then "
        f"saved under `{imported_dir()}` where it can be evaluated."
    )
    up = st.file_uploader("Synthetic set file", type=["pt"], key=f"{P}.upload")
    if up is None:
        return
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:10]
    fd, tmp = tempfile.mkstemp(suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        syn = SyntheticSet.load(tmp)
    except DDError as err:
        st.error(f"Refused {up.name}: {str(err).replace(tmp, up.name)}")
        return
    except Exception as err:  # noqa: BLE001 - PyTorch's own text is never shown (it suggests weights_only=False)
        st.error(f"Refused {up.name}: {not_a_set(up.name, err)}")
        return
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(up.name).stem)[:40] or "set"
    target = imported_dir() / f"{stem}-{digest}.pt"
    if not target.exists():
        syn.save(target)
    st.success(f"Imported {up.name} → `{target.name}`: {set_summary(syn)}")
    st.session_state[f"{P}.imported"] = str(target)
    imported_view(str(target), where="up")


def not_a_set(name: str, err: BaseException) -> str:
    """The engine's words for a file that is not a set, for a failure the engine did not word itself."""
    return f"{name} is not a DistillLab synthetic set (unreadable: {type(err).__name__})"


def imported_view(path: str, where: str = "imp") -> None:
    try:
        syn = load_set(path)
    except DDError as err:
        st.error(str(err))
        return
    except Exception as err:  # noqa: BLE001 - as on import: never PyTorch's text
        st.error(not_a_set(Path(path).name, err))
        return
    st.caption(set_summary(syn))
    st.image(snapshot_png(path), caption=Path(path).name, output_format=PNG)
    st.download_button(
        "PNG grid",
        icon=":material/download:",
        data=snapshot_png(path),
        file_name=Path(path).stem + ".png",
        mime="image/png",
        key=f"{P}.{where}.png",
    )
    evaluate_controls(path, syn, where)
    store = get_store()
    related = [r for r in list_runs(kind="evaluate", limit=100) if r["config"].get("synthetic_path") == path]
    for r in related:
        ev = store.evals(r["id"])
        acc = "; ".join(f"{net_label(e['net'])} {eval_acc(e, ' %')} ({protocol_text(e)})" for e in ev)
        st.write(f"{run_title(r)} {acc}")
        if r.get("error"):
            st.error(run_error(r["error"], r["kind"]))


def evaluate_controls(path: str, syn: SyntheticSet, where: str = "imp") -> None:
    from dd_core.device import pick_device
    from dd_core.runs.worker import submit
    from dd_core.spec import RunConfig

    dataset = str(syn.meta["dataset"])  # validated on load
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    nets = c1.multiselect(
        "Evaluate on",
        list(NET_NAMES),
        default=[syn.meta.get("net") or "convnet-3"] if (syn.meta.get("net") or "convnet-3") in NET_NAMES else [],
        key=f"{P}.{where}.nets",
    )
    if c2.button("Evaluate", icon=":material/play_arrow:", key=f"{P}.{where}.eval", disabled=not nets):
        ecfg = EvalConfig.from_protocol(None, device=pick_device())
        cfg = RunConfig(
            kind="evaluate",
            dataset=dataset,
            dataset_options=dataset_options_for(dataset),
            method=None,
            synthetic_path=path,
            eval_nets=nets,
            eval=ecfg.to_dict(),
            label=f"imported {Path(path).name}",
        )
        try:
            rid = submit(get_store(), cfg)
            invalidate()
        except DDError as err:
            st.error(ui_message(str(err)))
        else:
            st.success(
                f"Queued evaluation run #{rid} ({ecfg.protocol} protocol: {ecfg.epochs} epochs × "
                f"{ecfg.n_models} models); results appear here and on the Compare page."
            )


@safe
def render() -> None:
    reap_now()
    st.title("Gallery")
    source = st.radio("Show", ["Runs", "Imported sets"], horizontal=True, key=f"{P}.source")
    if source == "Runs":
        runs = [r for r in list_runs(kind="distill", limit=100)]
        if not runs:
            st.info("No distillation runs yet: start one on the Distill page (or import a set).")
        else:
            wanted = select_run_param()
            ids = [r["id"] for r in runs]
            labels = {r["id"]: run_title(r, with_status=False) for r in runs}
            run_id = st.selectbox(
                "Run",
                ids,
                index=ids.index(wanted) if wanted in ids else 0,
                format_func=lambda i: labels[i],
                key=f"{P}.run",
            )
            if str(run_id) != st.query_params.get("run"):
                st.query_params["run"] = str(run_id)
            run_panel(run_id)
    else:
        files = sorted(imported_dir().glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        last = st.session_state.get(f"{P}.imported")
        if files:
            names = [str(p) for p in files]
            pick = st.selectbox(
                "Imported set",
                names,
                index=names.index(last) if last in names else 0,
                format_func=lambda s: Path(s).name,
                key=f"{P}.impsel",
            )
            imported_view(pick)
        else:
            st.caption("No imported set yet.")
    st.divider()
    import_block()
