"""A sweep's results as the field's "Table 1" (methods × IPC) and as heatmaps over two grid keys: pure functions of
the list ``sweep_results`` returns (no store, no Streamlit, no PyTorch).

Only trials ``done`` with a last accuracy count. A cell is the mean ± std over seeds (population std, as over a
run's evaluation models) of the trials' last accuracies, with the random-real reference of the same trials beside
it. When grid keys other than ``ipc`` vary, a cell is the best configuration of its (method, IPC) by mean over its
finished seeds, named (``lr_img=1``); a cell whose trials did not all finish says how many seeds it has. A method's
IPC is its grid value, else the trial's own (``attach_ipc``: from the trial's config). The trials of a cell share
one random-real reference (its subsets have fixed seeds): its ± is then the spread over those subsets, not over the
trials' seeds (which would read 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .trials import Trial

IPC = "ipc"


# ------------------------------------------------------------------------------------------------------ helpers
def attach_ipc(results: list[dict], trials: list[Trial]) -> list[dict]:
    """Copies of ``results`` with ``ipc`` (the grid's value, else the trial config's ``method_options.ipc``)."""
    by_index = {t.index: t for t in trials}
    out = []
    for r in results:
        t = by_index.get(r["trial"])
        ipc = (r.get("params") or {}).get(IPC)
        if ipc is None and t is not None:
            ipc = (t.config.get("method_options") or {}).get(IPC)
        out.append({**r, IPC: ipc})
    return out


def ipc_of(result: dict) -> Any:
    """A trial's IPC: its grid value, else the ``ipc`` ``attach_ipc`` put there (None when unknown)."""
    params = result.get("params") or {}
    return params[IPC] if IPC in params else result.get(IPC)


def finished(result: dict) -> bool:
    """A trial that counts: ``done`` with a last accuracy."""
    return result.get("status") == "done" and result.get("acc_mean") is not None


def sort_key(value: Any) -> tuple:
    """Numbers in order, then the rest as text (grid values may be ints, floats or strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (1, 0.0, str(value))
    return (0, float(value), "")


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and population std (0 for one value); (None, None) for none."""
    if not values:
        return None, None
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def config_text(config: dict) -> str:
    """``{"lr_img": 1, "batch_real": 64}`` → ``lr_img=1 batch_real=64``; '' for none."""
    return " ".join(f"{k}={v}" for k, v in config.items())


def varying_keys(results: list[dict], method: str | None = None) -> list[str]:
    """The grid keys that take more than one value among the trials (of ``method``), in the order first seen: the
    axes a page can offer."""
    values: dict[str, list] = {}
    for r in results:
        if method is not None and r.get("method") != method:
            continue
        for k, v in (r.get("params") or {}).items():
            seen = values.setdefault(k, [])
            if v not in seen:
                seen.append(v)
    return [k for k, vs in values.items() if len(vs) > 1]


# --------------------------------------------------------------------------------------------------- the cells
@dataclass
class Cell:
    """The trials of one configuration: ``config`` (the grid keys besides those of the cell, as typed), the trials'
    seeds, and the last accuracies and random-real references of those that finished."""

    method: str
    ipc: Any
    config: dict
    seeds: list = field(default_factory=list)  # every trial's seed (finished or not)
    accs: list[float] = field(default_factory=list)
    randoms: list[float] = field(default_factory=list)
    references: dict[float, tuple[float | None, int | None]] = field(default_factory=dict)  # mean: (std, subsets)
    gains: list[float] = field(default_factory=list)  # acc − random of the trials that have both
    run_ids: list[int] = field(default_factory=list)  # the finished trials' runs

    def add(self, r: dict) -> None:
        self.seeds.append(r.get("seed"))
        if not finished(r):
            return
        self.accs.append(float(r["acc_mean"]))
        if r.get("run_id") is not None:
            self.run_ids.append(int(r["run_id"]))
        if r.get("random_acc_mean") is not None:
            self.randoms.append(float(r["random_acc_mean"]))
            self.references[float(r["random_acc_mean"])] = (r.get("random_acc_std"), r.get("random_subsets"))
            self.gains.append(float(r["acc_mean"]) - float(r["random_acc_mean"]))

    @property
    def n(self) -> int:
        """Seeds that finished."""
        return len(self.accs)

    @property
    def n_expected(self) -> int:
        """Seeds the sweep has for this configuration."""
        return len(self.seeds)

    @property
    def acc(self) -> tuple[float | None, float | None]:
        return mean_std(self.accs)

    @property
    def random(self) -> tuple[float | None, float | None]:
        """The reference's mean and std: over its own subsets when every trial shares one (the usual case), else
        over the trials' references (different devices, say)."""
        if len(self.references) == 1:
            ((mean, (std, _)),) = self.references.items()
            return mean, None if std is None else float(std)
        return mean_std(self.randoms)

    @property
    def random_spread(self) -> str:
        """What the reference's ± is over: '3 subsets', '2 references', '' (one value, nothing known)."""
        if len(self.references) == 1:
            ((_, (std, subsets)),) = self.references.items()
            return f"{subsets} subsets" if std is not None and subsets else ""
        return f"{len(self.references)} references" if len(self.references) > 1 else ""

    @property
    def gain(self) -> float | None:
        return mean_std(self.gains)[0]

    def to_dict(self) -> dict:
        """Plain numbers in [0, 1] (``--json``, tests)."""
        (acc, std), (rand, rand_std) = self.acc, self.random
        return {
            "method": self.method,
            "ipc": self.ipc,
            "config": dict(self.config),
            "acc_mean": acc,
            "acc_std": std,
            "random_acc_mean": rand,
            "random_acc_std": rand_std,
            "gain": self.gain,
            "n_seeds": self.n,
            "n_expected": self.n_expected,
            "run_ids": list(self.run_ids),
        }


def configurations(results: Iterable[dict], cell_keys: tuple[str, ...]) -> dict[tuple, dict[tuple, Cell]]:
    """The trials by cell (the values of ``cell_keys``, ``method`` first, ``ipc`` as ``ipc_of``) and then by
    configuration (the other grid keys), in the order first seen."""
    out: dict[tuple, dict[tuple, Cell]] = {}
    for r in results:
        params = r.get("params") or {}
        cell = tuple(r.get("method") if k == "method" else ipc_of(r) if k == IPC else params.get(k) for k in cell_keys)
        config = {k: v for k, v in params.items() if k not in cell_keys}
        by_config = out.setdefault(cell, {})
        key = tuple(sorted(config.items(), key=lambda kv: kv[0]))
        if key not in by_config:
            by_config[key] = Cell(str(r.get("method")), ipc_of(r), config)
        by_config[key].add(r)
    return out


def best(cells: Iterable[Cell]) -> Cell:
    """The configuration with the highest mean over its finished seeds (ties: more seeds, then the first); the
    first one when none finished."""
    every = list(cells)
    scored = [c for c in every if c.n]
    if not scored:
        return every[0]
    return max(scored, key=lambda c: (c.acc[0], c.n))  # max keeps the first of equals


def best_per_method(results: list[dict]) -> list[Cell]:
    """Each method's best configuration (IPC and grid keys, over its finished seeds), in the order methods are
    first seen: the highest mean gain over random real where the method's trials have a reference (so IPC 1 and
    IPC 10 compare fairly), else the highest mean accuracy. Methods with no finished trial are left out."""
    groups = configurations(results, ("method",))
    out = []
    for by_config in groups.values():
        scored = [c for c in by_config.values() if c.n]
        if not scored:
            continue
        with_gain = [c for c in scored if c.gains]
        out.append(
            max(with_gain, key=lambda c: (c.gain, c.n)) if with_gain else max(scored, key=lambda c: (c.acc[0], c.n))
        )
    return out


def best_run(cell: Cell, results: list[dict]) -> dict | None:
    """The finished trial of ``cell`` with the highest last accuracy (the set a page links to), or None."""
    mine = [r for r in results if finished(r) and r.get("run_id") in cell.run_ids]
    return max(mine, key=lambda r: r["acc_mean"], default=None)


def grid_config(cell: Cell) -> dict:
    """The cell's full configuration in the grid's keys: ``{"ipc": 10, "lr_img": 1}``."""
    return {IPC: cell.ipc, **cell.config} if cell.ipc is not None else dict(cell.config)


def best_text(cell: Cell, label: str | None = None) -> str:
    """'DM ipc=10 lr_img=1: 80.50 ± 0.50 % over 2 seeds, random real 60.00 % (+20.50 points)' (``label``: the
    method's name as the caller shows it)."""
    mean, std = cell.acc
    acc = f"{pct(mean)} ± {pct(std)} %" if cell.n > 1 else f"{pct(mean)} %"
    what = " ".join(x for x in (label or cell.method, config_text(grid_config(cell))) if x)
    out = f"{what}: {acc} over {cell.n} seed{'s' if cell.n != 1 else ''}"
    if cell.gain is not None:
        out += f", random real {pct(cell.random[0])} % ({100 * cell.gain:+.2f} points)"
    return out


# ---------------------------------------------------------------------------------------------------- Table 1
@dataclass
class Table1:
    """Methods × IPC: ``cells[(method, ipc)]`` (absent where the method has no trial at that IPC); ``keys``: the
    grid keys besides ``ipc`` that vary (a cell is then its best configuration)."""

    methods: list[str]
    ipcs: list
    keys: list[str]
    cells: dict[tuple, Cell]

    def cell(self, method: str, ipc: Any) -> Cell | None:
        return self.cells.get((method, ipc))

    def to_dict(self) -> dict:
        return {
            "methods": self.methods,
            "ipcs": self.ipcs,
            "keys": self.keys,
            "cells": [c.to_dict() for c in self.cells.values()],
        }


def table1(results: list[dict]) -> Table1:
    """Table 1 of a sweep's results (``sweep_results``, with ``attach_ipc`` when ``ipc`` is no grid key); a trial of
    method ``random`` is a row of its own like any method."""
    groups = configurations(results, ("method", IPC))
    methods = list(dict.fromkeys(m for m, _ in groups))
    ipcs = sorted({ipc for _, ipc in groups}, key=sort_key)
    keys = [k for k in varying_keys(results) if k != IPC]
    cells = {cell: best(by_config.values()) for cell, by_config in groups.items()}
    order = sorted(cells, key=lambda mi: (methods.index(mi[0]), *sort_key(mi[1])))
    return Table1(methods, ipcs, keys, {mi: cells[mi] for mi in order})


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


def acc_cell(c: Cell | None) -> str:
    """'48.20 ± 1.10 · 3 seeds', '47.00 · 1 of 3 seeds', 'no finished trial (0 of 3 seeds)', '—' (no trial)."""
    if c is None:
        return "—"
    seeds = f"{c.n} seed{'s' if c.n != 1 else ''}" if c.n == c.n_expected else f"{c.n} of {c.n_expected} seeds"
    if not c.n:
        return f"no finished trial (0 of {c.n_expected} seed{'s' if c.n_expected != 1 else ''})"
    mean, std = c.acc
    return (f"{pct(mean)} ± {pct(std)}" if c.n > 1 else pct(mean)) + f" · {seeds}"


def random_cell(c: Cell | None) -> str:
    """The random-real reference of the same trials: '30.10 ± 0.40 · 3 subsets', '—' when none was measured."""
    if c is None or not c.randoms:
        return "—"
    (mean, std), spread = c.random, c.random_spread
    return f"{pct(mean)} ± {pct(std)} · {spread}" if spread and std is not None else pct(mean)


def ipc_label(ipc: Any) -> str:
    return f"IPC {ipc if ipc is not None else '?'}"


def table_rows(t: Table1, *, numeric: bool = False) -> list[dict]:
    """One row per method: for each IPC its accuracy (%), the random real beside it and, when other keys vary, the
    best configuration. ``numeric``: numbers in percent in separate columns (CSV), else text (``st.dataframe``,
    Markdown, the report)."""
    rows = []
    for m in t.methods:
        row: dict[str, Any] = {"method": m}
        for ipc in t.ipcs:
            c, head = t.cell(m, ipc), ipc_label(ipc)
            if numeric:
                (acc, std), (rand, rand_std) = (c.acc, c.random) if c else ((None, None), (None, None))
                row[f"{head} acc (%)"] = _p(acc)
                row[f"{head} std (%)"] = _p(std)
                row[f"{head} random real (%)"] = _p(rand)
                row[f"{head} random real std (%)"] = _p(rand_std)
                row[f"{head} seeds"] = c.n if c else None
                row[f"{head} of seeds"] = c.n_expected if c else None
            else:
                row[f"{head} (%)"] = acc_cell(c)
                row[f"{head} random real (%)"] = random_cell(c)
            if t.keys:
                row[f"{head} best config"] = best_config(t, c)
        rows.append(row)
    return rows


def best_config(t: Table1, c: Cell | None) -> str:
    """The cell's configuration in the keys that vary (``lr_img=1``); '' when nothing finished there."""
    return config_text({k: v for k, v in c.config.items() if k in t.keys}) if c and c.n else ""


def _p(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 2)


def markdown(t: Table1) -> str:
    """Table 1 as a Markdown table (the report, the docs), with a line on how its cells are made."""
    rows = table_rows(t)
    if not rows:
        return "_No trial._\n"
    cols = list(rows[0])
    esc = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(esc(r[c]) for c in cols) + " |" for r in rows]
    lines += ["", NOTE + (f" {BEST_NOTE}" if t.keys else "")]
    return "\n".join(lines) + "\n"


NOTE = (
    "Test accuracy (%) of each trial's last synthetic set, mean ± std over seeds (done trials only); random real: "
    "the same trials' random-real reference (random real images per class, the same evaluation), mean ± std over "
    "its random subsets."
)
BEST_NOTE = "Where other grid keys vary, each cell is the best configuration of its method and IPC by mean over seeds."


# ---------------------------------------------------------------------------------------------------- heatmaps
@dataclass
class Heatmap:
    """One method over two grid keys: ``acc[i][j]`` / ``gain[i][j]`` / ``n[i][j]`` at ``y[i]``, ``x[j]`` (None where
    nothing finished); ``config[i][j]``: the best configuration of the other keys there ('' when none vary)."""

    method: str
    x_key: str
    y_key: str
    x: list
    y: list
    acc: list[list[float | None]]
    gain: list[list[float | None]]
    n: list[list[int]]
    config: list[list[str]]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("method", "x_key", "y_key", "x", "y", "acc", "gain", "n", "config")}


def heatmap(results: list[dict], method: str, x_key: str, y_key: str) -> Heatmap:
    """Mean last accuracy over seeds (and gain over random real) of ``method`` per (``x_key``, ``y_key``) value; where
    other keys vary too, a cell is their best configuration (as in Table 1)."""
    if x_key == y_key:
        raise ConfigError(f"a heatmap needs two different grid keys, got {x_key!r} twice", field="heatmap")
    mine = [r for r in results if r.get("method") == method]
    groups = configurations(mine, ("method", x_key, y_key))
    xs = sorted({x for _, x, _ in groups}, key=sort_key)
    ys = sorted({y for _, _, y in groups}, key=sort_key)
    acc: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    gain: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    n: list[list[int]] = [[0] * len(xs) for _ in ys]
    config: list[list[str]] = [[""] * len(xs) for _ in ys]
    others = [k for k in varying_keys(mine) if k not in (x_key, y_key)]
    for (_, x, y), by_config in groups.items():
        c = best(by_config.values())
        i, j = ys.index(y), xs.index(x)
        acc[i][j], gain[i][j], n[i][j] = c.acc[0], c.gain, c.n
        config[i][j] = config_text({k: v for k, v in c.config.items() if k in others}) if c.n else ""
    return Heatmap(method, x_key, y_key, xs, ys, acc, gain, n, config)
