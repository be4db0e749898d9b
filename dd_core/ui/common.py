"""Shared pieces of the dashboard pages: the run store, error wrapping, remembered settings, formatting.

Pages only read the store (cheap SQLite reads, cached for a second where a page lists many runs); runs execute in
the background worker process.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import streamlit as st

from dd_core.paths import data_home
from dd_core.runs.store import ACTIVE_STATUSES, RunStore

log = logging.getLogger("distilllab.ui")

STATUS_ICON = {"queued": "…", "running": "▸", "done": "✓", "failed": "✗", "cancelled": "■", "interrupted": "!"}
STATUS_COLOR = {
    "queued": "gray",
    "running": "blue",
    "done": "green",
    "failed": "red",
    "cancelled": "orange",
    "interrupted": "orange",
}
METHOD_LABEL = {"dm": "DM", "am": "AM (DataDAM)", "pad": "PAD", "random": "random real", "herding": "herding"}
NET_LABEL = {
    "lenet": "LeNet",
    "alexnet": "AlexNet",
    "alexnet-bn": "AlexNet-BN",
    "vgg11": "VGG11",
    "vgg11-bn": "VGG11-BN",
    "resnet18": "ResNet18",
    "resnet18-bn": "ResNet18-BN",
    "mlp": "MLP",
}
PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


# ------------------------------------------------------------------------------------------------ the store
@st.cache_resource(show_spinner=False)
def _store_for(home: str) -> RunStore:
    return RunStore(Path(home) / "runs.sqlite3")


def get_store() -> RunStore:
    """The run store of the current data home (one per process and data home)."""
    return _store_for(str(data_home()))


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=64)
def _list_runs(home: str, kind, status, limit) -> list[dict]:
    return _store_for(home).list_runs(kind=kind, status=status, limit=limit)


def list_runs(kind=None, status=None, limit: int | None = 200) -> list[dict]:
    """``store.list_runs`` cached for one second (pages that list runs rerun often while a run goes)."""
    norm = lambda v: tuple(v) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return _list_runs(str(data_home()), norm(kind), norm(status), limit)


def invalidate() -> None:
    """Forget cached run lists (after this session changed the store: submit, cancel, delete)."""
    _list_runs.clear()


def submit_and_watch(cfg) -> None:
    """Queue ``cfg`` (starting a worker if none runs), remember its id in the URL and rerun the whole page;
    a refused config shows its reason instead."""
    from dd_core.errors import DDError
    from dd_core.runs.worker import submit

    try:
        run_id = submit(get_store(), cfg)
    except DDError as err:
        st.error(str(err))
        return
    invalidate()
    st.query_params["run"] = str(run_id)
    st.rerun(scope="app")


def reap_now() -> None:
    """Mark runs whose worker died as interrupted (at most every 5 s per session)."""
    last = st.session_state.get("_reaped_at", 0.0)
    if time.time() - last > 5:
        st.session_state["_reaped_at"] = time.time()
        get_store().reap()


def kick_worker(run: dict) -> None:
    """A queued run with no worker on its device (e.g. the worker was killed): start one (rate-limited)."""
    if run["status"] != "queued" or time.time() - run["created_at"] < 3:
        return
    last = st.session_state.get("_kicked_at", 0.0)
    if time.time() - last < 10:
        return
    st.session_state["_kicked_at"] = time.time()
    from dd_core.runs.worker import ensure_worker

    ensure_worker(get_store(), run["device"] or "cpu")


# ------------------------------------------------------------------------------------------------ errors
def safe(render: Callable[[], None]) -> Callable[[], None]:
    """Run a page (or fragment) body; an unexpected exception becomes a short message, never a traceback."""

    @wraps(render)
    def wrapper(*a, **kw):
        try:
            return render(*a, **kw)
        except Exception as err:  # noqa: BLE001
            from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

            if isinstance(err, ScriptControlException):  # st.rerun / st.stop / st.switch_page
                raise
            from dd_core.errors import DDError

            log.error("page error: %s", traceback.format_exc())
            if isinstance(err, DDError):
                st.error(str(err))
            else:
                st.error(f"Something went wrong on this page: {type(err).__name__}: {str(err)[:300]}")

    return wrapper


# ------------------------------------------------------------------------------------------------ settings
def settings_path() -> Path:
    return data_home() / "ui_settings.json"


def load_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_setting(section: str, key: str, value) -> None:
    data = load_settings()
    data.setdefault(section, {})
    if data[section].get(key) == value:
        return
    data[section][key] = value
    tmp = settings_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(settings_path())


def dataset_path(name: str) -> str | None:
    """The remembered folder of a path dataset (MHIST, folder)."""
    return (load_settings().get("paths") or {}).get(name) or None


def dataset_options_for(name: str) -> dict:
    """Dataset options a run of ``name`` needs here (the remembered path of MHIST / folder)."""
    from dd_core.data.registry import PATH_DATASETS

    p = dataset_path(name) if name in PATH_DATASETS else None
    return {"path": p} if p else {}


def dataset_path_input(name: str, key: str, container=None) -> str | None:
    """For datasets read from a user folder: a remembered path field with the status (and fix) below it.
    Returns the path ('' → None). Other datasets: None, nothing drawn."""
    from dd_core.data import dataset_status
    from dd_core.data.registry import PATH_DATASETS

    if name not in PATH_DATASETS:
        return None
    c = container or st
    label = "MHIST folder" if name == "mhist" else "Image folder"
    helptext = (
        f"the folder holding annotations.csv and images/ (MHIST); remembered in {settings_path()}"
        if name == "mhist"
        else "one sub-folder of images per class (or train/ and test/ holding those); remembered"
    )
    value = c.text_input(
        label, value=dataset_path(name) or "", key=f"{key}.{name}.path", help=helptext, placeholder="/path/to/folder"
    ).strip()
    if value:
        save_setting("paths", name, value)
    s = dataset_status(name, path=value or None)
    if s.status == "missing":
        c.error(f"{s.detail}. **Fix:** {s.fix}")
    else:
        c.caption(f":material/check_circle: {s.detail}")
    return value or None


# ------------------------------------------------------------------------------------------------ formatting
def net_label(name: str | None) -> str:
    if not name:
        return "?"
    if name.startswith("convnet"):
        return "ConvNet" + name[len("convnet") :]
    return NET_LABEL.get(name, name)


def net_order(name: str) -> tuple:
    order = ["convnet", "lenet", "alexnet", "vgg11", "resnet18", "mlp"]
    base = next((i for i, p in enumerate(order) if name.startswith(p)), len(order))
    return base, name


def run_title(run: dict, *, with_status: bool = True) -> str:
    """'#12 DM · mnist-5k · IPC 10 — label (done)'. Select boxes use ``with_status=False``: a keyed widget keeps
    showing the label it had when its options' texts change (the status is shown next to them instead)."""
    kind = run["kind"]
    if kind == "distill":
        what = f"{METHOD_LABEL.get(run['method'], run['method'])} · {run['dataset']} · IPC {run['ipc']}"
    elif kind == "baseline":
        net = (run["config"].get("baseline") or {}).get("net") or "default net"
        what = f"whole {run['dataset']} · {net_label(net)}"
    elif kind == "evaluate":
        src = run["config"].get("source_run")
        what = f"evaluate {'run #' + str(src) if src else 'set'} · {run['dataset']}"
    else:
        what = kind
    lab = run.get("label") or ""
    label = f" — {lab}" if lab and lab.lower() not in what.lower() else ""
    status = f" ({STATUS_ICON.get(run['status'], '')} {run['status']})" if with_status else ""
    return f"#{run['id']} {what}{label}{status}"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|$~#"})


def md_table(rows: list[dict]) -> str:
    """Rows with the same keys -> a Markdown table (cells escaped, one line each; columns empty in every row left
    out). Drawn by ``st.markdown``: no pandas, so the home page needs neither pandas nor PyTorch for its tables."""
    if not rows:
        return ""
    cols = [c for c in rows[0] if any(str(r.get(c, "")).strip() for r in rows)]
    cell = lambda v: " ".join(str(v).split()).translate(_MD_SPECIAL) or " "  # noqa: E731
    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def fmt_flops(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, div in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g} {unit}FLOPs"
    return f"{n:.0f} FLOPs"


def fmt_acc(mean: float | None, std: float | None = None) -> str:
    """Accuracies are stored in [0, 1]; shown in percent."""
    if mean is None:
        return "—"
    return f"{100 * mean:.2f} ± {100 * std:.2f}" if std is not None else f"{100 * mean:.2f}"


def protocol_text(rec: dict) -> str:
    """'quick · 300 ep × 2 models'."""
    return f"{rec.get('protocol') or '?'} · {rec.get('epochs')} ep × {rec.get('n_models')} model" + (
        "s" if (rec.get("n_models") or 0) != 1 else ""
    )


def run_seconds(run: dict) -> float | None:
    end = run.get("finished_at") or (time.time() if run["status"] in ACTIVE_STATUSES else run.get("heartbeat"))
    return end - run["started_at"] if run.get("started_at") and end else None


def status_badge(run: dict) -> None:
    st.badge(f"{run['status']}", icon=None, color=STATUS_COLOR.get(run["status"], "gray"))


def watch_picker(runs: list[dict], run_id: int | None, key: str) -> int | None:
    """The 'Watching run' select over ``runs`` (``run_id`` added first when it is not among them). A new pick goes
    to the URL (``?run=``) and reruns the page. Returns the watched run id (``run_id`` itself when ``runs`` is empty)."""
    if not runs:
        return run_id
    ids = [r["id"] for r in runs]
    if run_id is not None and run_id not in ids:
        ids.insert(0, run_id)
    labels = {r["id"]: run_title(r, with_status=False) for r in runs}
    pick = st.selectbox(
        "Watching run",
        ids,
        index=ids.index(run_id) if run_id in ids else 0,
        format_func=lambda i: labels.get(i, f"#{i}"),
        key=f"{key}.{run_id}",
    )
    if pick != run_id:
        st.query_params["run"] = str(pick)
        st.rerun()
    return pick


def select_run_param(name: str = "run") -> int | None:
    """The run id in the URL (``?run=12``), or None."""
    v = st.query_params.get(name)
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None
