"""What a report is made of, read from the run store: the chosen runs, each with its settings, the evaluations of
its LAST evaluated iteration with their references (``runs.references``, the one chooser), its loss rows and
snapshots; runs grouped by dataset and evaluation protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..runs.references import run_evals_with_references, whole_baselines
from ..runs.store import RunStore
from .text import protocol_short

REPORTED_KINDS = ("distill", "evaluate")


@dataclass
class Entry:
    """One run of the report."""

    run: dict
    evals: list[dict]  # the evaluations at the last evaluated iteration, references attached
    metrics: list[dict] = field(default_factory=list)  # step rows (the loss)
    snapshots: list[dict] = field(default_factory=list)  # store.snapshots: iteration, abs_path
    source_method: str | None = None  # an 'evaluate' run of a distillation's set: that run's method

    @property
    def id(self) -> int:
        return int(self.run["id"])

    @property
    def summary(self) -> dict:
        return self.run.get("summary") or {}

    @property
    def config(self) -> dict:
        return self.run.get("config") or {}

    @property
    def method(self) -> str:
        """The method; for an 'evaluate' run, what it evaluated ('random' real images or an 'imported set')."""
        if self.run["kind"] == "evaluate":
            if self.source_method:
                return self.source_method
            return self.summary.get("method") or ("imported set" if self.config.get("synthetic_path") else "random")
        return self.run.get("method") or "?"

    @property
    def dataset(self) -> str:
        return self.run.get("dataset") or "?"

    @property
    def ipc(self) -> int | None:
        ipc = self.run.get("ipc") or self.summary.get("ipc") or (self.config.get("method_options") or {}).get("ipc")
        return int(ipc) if ipc is not None else None

    @property
    def status(self) -> str:
        return self.run["status"]

    @property
    def eval_config(self) -> dict:
        return self.summary.get("eval_config") or self.config.get("eval") or {}

    @property
    def protocol(self) -> str:
        """'quick: 2 models × 300 epochs', from its evaluations (else its configured evaluation)."""
        src = self.evals[0] if self.evals else self.eval_config
        return protocol_short(src.get("protocol"), src.get("epochs"), src.get("n_models"))

    @property
    def nets(self) -> list[str]:
        nets = [e["net"] for e in self.evals if e.get("net")]
        return list(dict.fromkeys(nets)) or list(self.config.get("eval_nets") or [])

    @property
    def name(self) -> str:
        from .text import method_label

        return f"#{self.id} {method_label(self.method)} · IPC {self.ipc if self.ipc is not None else '?'}"

    @property
    def finished(self) -> bool:
        return self.status == "done"

    def final_set(self) -> str | None:
        """The path of its final (done) or latest set: the saved set when it exists, else its last snapshot."""
        path = self.summary.get("synthetic_path")
        if path and Path(path).is_file():
            return str(path)
        return self.snapshots[-1]["abs_path"] if self.snapshots else None


@dataclass
class Group:
    """Runs of one dataset evaluated under one protocol: only these are compared on one chart."""

    dataset: str
    protocol: str
    entries: list[Entry]

    @property
    def ipcs(self) -> list[int]:
        return sorted({e.ipc for e in self.entries if e.ipc is not None})


def parse_runs(text: str | None) -> list[int] | None:
    """'3,4,7' → [3, 4, 7]; 'all' or nothing → None (every run); anything else → ConfigError(field='runs')."""
    if text is None or text.strip().lower() in ("", "all"):
        return None
    ids = []
    for part in text.split(","):
        part = part.strip().lstrip("#")
        if not part:
            continue
        if not part.isdigit():
            raise ConfigError(f"{part!r} is not a run id; give ids like 3,4,7 or 'all'", field="runs")
        ids.append(int(part))
    if not ids:
        raise ConfigError("no run id given; give ids like 3,4,7 or 'all'", field="runs")
    return list(dict.fromkeys(ids))


def reportable(store: RunStore) -> list[dict]:
    """The runs a report can show (distillations and evaluations, any status), oldest first."""
    return sorted(store.list_runs(kind=REPORTED_KINDS, limit=None), key=lambda r: r["id"])


def select_runs(store: RunStore, run_ids: list[int] | None) -> list[dict]:
    """The runs ``run_ids`` (None: every reportable run); an unknown id is refused with the list of valid ones."""
    runs = reportable(store)
    by_id = {r["id"]: r for r in runs}
    if run_ids is None:
        if not runs:
            raise ConfigError("the run store has no distillation or evaluation run to report yet", field="runs")
        return runs
    unknown = [i for i in run_ids if i not in by_id]
    other = [(i, run["kind"]) for i in unknown if (run := store.get_run(i)) is not None]
    if other:
        i, kind = other[0]
        valid = ", ".join(str(i) for i in by_id) or "none yet"
        raise ConfigError(
            f"run {i} is a {kind} run: a report shows distillation and evaluation runs (whole-dataset baselines "
            f"appear as their reference); valid ids: {valid}",
            field="runs",
        )
    if unknown:
        valid = ", ".join(str(i) for i in by_id) or "none yet"
        raise ConfigError(
            f"unknown run id{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))}; valid ids: {valid}",
            field="runs",
        )
    return [by_id[i] for i in run_ids]


def last_iteration(evals: list[dict]) -> list[dict]:
    """The evaluations at the last evaluated iteration: the report shows the last set, never the best checkpoint."""
    its = [int(e["iteration"]) for e in evals if e.get("iteration") is not None]
    if not its:
        return list(evals)
    return [e for e in evals if e.get("iteration") == max(its)]


def collect(store: RunStore, runs: list[dict]) -> list[Entry]:
    """Each run with its last evaluations (and references), loss rows and snapshots; a finished 'evaluate' run of
    a reported distillation's set ("evaluate on more architectures") adds its evaluations to that run."""
    return fold_children(read_entries(store, runs))


def fold_children(entries: list[Entry]) -> list[Entry]:
    """Entries without the finished evaluations of another reported run's set: their records join that run's."""
    by_id = {e.id: e for e in entries}
    out = []
    for e in entries:
        src = e.config.get("source_run") if e.run["kind"] == "evaluate" else None
        if src in by_id and e.status == "done":
            by_id[src].evals.extend(e.evals)
        else:
            out.append(e)
    return out


def read_entries(store: RunStore, runs: list[dict]) -> list[Entry]:
    """Each run as an :class:`Entry`, read from the store."""
    baselines: dict[str, list[dict]] = {}
    out = []
    for run in runs:
        ds = run.get("dataset") or ""
        if ds and ds not in baselines:  # read once per dataset
            baselines[ds] = whole_baselines(store, ds)
        evals = run_evals_with_references(store, run, baselines=baselines.get(ds))
        out.append(
            Entry(
                run=run,
                evals=last_iteration([e for e in evals if e.get("acc_mean") is not None]),
                metrics=store.metrics(run["id"]) if run["kind"] == "distill" else [],
                snapshots=store.snapshots(run["id"]),
                source_method=source_method(store, run),
            )
        )
    return out


def source_method(store: RunStore, run: dict) -> str | None:
    """The method of the distillation whose set an 'evaluate' run evaluated (None for other runs)."""
    src = (run.get("config") or {}).get("source_run") if run["kind"] == "evaluate" else None
    source = store.get_run(int(src)) if src is not None else None
    return source.get("method") if source else None


def groups(entries: list[Entry]) -> list[Group]:
    """Entries by (dataset, protocol), in the order they first appear."""
    found: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        found.setdefault((e.dataset, e.protocol), []).append(e)
    return [Group(ds, proto, items) for (ds, proto), items in found.items()]
