"""Slide-ready PNGs with matplotlib (a bare ``Figure`` drawn by Agg: no pyplot, no display, no browser): 1920 px
wide, large type, each titled 'method · dataset · IPC · protocol', legends outside the axes (never over the data);
and each run's GIF."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patheffects import withStroke
from matplotlib.ticker import MaxNLocator

from ..grids import class_columns_array, class_names, grid_array
from ..labels import method_color, net_label
from ..synthetic import SyntheticSet
from .data import Entry, Group
from .gif import snapshots_gif
from .series import Bar, bars, ipc_series, loss_curves, wholes
from .text import figure_title, method_label

WIDTH_IN, DPI = 19.2, 100  # 1920 px wide
GREY = "#7F7F7F"
MAX_PER_CLASS = 10  # images per class on a slide
DASHES = ["-", "--", ":", "-."]
STYLE: Any = {  # matplotlib types rc keys as literals
    "font.size": 20,
    "axes.titlesize": 22,
    "axes.labelsize": 20,
    "xtick.labelsize": 17,
    "ytick.labelsize": 17,
    "legend.fontsize": 17,
    "figure.titlesize": 26,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def new_figure(height_in: float = 10.8, cols: int = 1) -> tuple[Figure, list]:
    """A 1920 px wide figure with constrained layout (room for the outside legend)."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, cols, squeeze=False)
    return fig, list(axes[0])


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)  # no bbox_inches="tight": the size stays exactly 1920 px wide
    return path


def legend_below(fig: Figure, ax, ncol: int = 3) -> None:
    """The figure's legend under the axes, outside the plotting area."""
    handles, labels = [], []
    for a in fig.axes:
        h, lab = a.get_legend_handles_labels()
        for hh, ll in zip(h, lab, strict=False):
            if ll not in labels and not ll.startswith("_"):
                handles.append(hh)
                labels.append(ll)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(labels)), frameon=False)


def accuracy_png(group: Group, items: list[Bar], path: Path) -> Path:
    """Bars with value labels; error bars only where two or more models were trained; y from 0; random real as a
    grey segment on each bar and the whole dataset as a labelled line."""
    with rc_context(STYLE):
        fig, (ax,) = new_figure()
        xs = list(range(len(items)))
        for x, b in zip(xs, items, strict=True):
            ax.bar(
                x,
                b.acc,
                width=0.6,
                color=method_color(b.method),
                label=method_label(b.method),
                yerr=None if b.std is None else [[b.std], [b.std]],
                capsize=8 if b.std is not None else 0,
                hatch=None if b.status == "done" else "//",
                edgecolor="white",
            )
            ax.annotate(  # at the bar's foot: clear of the error bar, the random-real segment and the whole line
                f"{b.acc:.1f} %",
                (x, 0),
                xytext=(0, 10),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=19,
                fontweight="bold",
                color="white" if b.status == "done" else "black",
                path_effects=[withStroke(linewidth=3, foreground="#333333")] if b.status == "done" else None,
            )
            if b.random is not None:
                ax.hlines(
                    b.random,
                    x - 0.38,
                    x + 0.38,
                    colors="#3A3A3A",
                    linestyles="--",
                    linewidth=3.5,
                    zorder=3,  # over the bar
                    path_effects=[withStroke(linewidth=6, foreground="white")],
                    label="random real (same IPC, same evaluation)",
                )
        for net, (acc, epochs) in wholes(items).items():
            what = f"whole dataset · {net_label(net)}" + (f" · {epochs} epochs" if epochs else "")
            ax.axhline(acc, color="black", linestyle=":", linewidth=2.5, label=f"{what}: {acc:.1f} %")
        width = max(8, min(22, 110 // max(1, len(items))))  # characters per tick line: no label runs into the next
        ax.set_xticks(xs, [textwrap.fill(b.label, width) for b in items], fontsize=16 if len(items) > 6 else None)
        pad = max(0.0, (4 - len(items)) / 2)  # room for at least 4 bars: one bar is not a wall
        ax.set_xlim(-0.5 - pad, len(items) - 0.5 + pad)
        top = max([b.acc + (b.std or 0) for b in items] + [w for w, _ in wholes(items).values()] + [1.0])
        ax.set_ylim(0, min(100.0, top * 1.15) if top < 87 else 105)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(group_title(group))
        legend_below(fig, ax)
        return save(fig, path)


def group_title(group: Group, entries: list[Entry] | None = None) -> str:
    """'method · dataset · IPC · protocol' of the group's runs, wrapped to fit the slide."""
    ens = entries if entries is not None else group.entries
    return wrap(figure_title([e.method for e in ens], [group.dataset], [e.ipc for e in ens], [group.protocol]))


def wrap(title: str) -> str:
    return textwrap.fill(title, 90)


def ipc_png(group: Group, path: Path) -> Path | None:
    """Accuracy vs IPC (only when the group covers two IPCs or more)."""
    series, random = ipc_series(group)
    if not series:
        return None
    with rc_context(STYLE):
        fig, (ax,) = new_figure()
        for i, s in enumerate(series):
            ax.plot(
                *zip(*s.points, strict=True),
                marker="o",
                markersize=10,
                linewidth=3,
                color=method_color(s.method),
                linestyle=DASHES[i % len(DASHES)],
                label=s.name,
            )
        if random:
            ax.plot(
                *zip(*random, strict=True),
                marker="s",
                markersize=8,
                linewidth=2.5,
                color=GREY,
                linestyle="--",
                label="random real (reference, same evaluation)",
            )
        for net, (acc, _) in wholes(bars(group)).items():
            ax.axhline(
                acc, color="black", linestyle=":", linewidth=2.5, label=f"whole dataset · {net_label(net)}: {acc:.1f} %"
            )
        ax.set_xscale("log")
        ipcs = group.ipcs
        ax.set_xticks(ipcs, [str(i) for i in ipcs])
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_xlabel("images per class (IPC)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(group_title(group))
        legend_below(fig, ax)
        return save(fig, path)


def loss_png(group: Group, path: Path) -> Path | None:
    """One panel per method (its own y axis: methods' objectives differ), its runs as lines."""
    curves = loss_curves(group.entries)
    if not curves:
        return None
    with rc_context(STYLE):
        fig, axes = new_figure(cols=len(curves))
        for ax, (m, runs) in zip(axes, curves.items(), strict=True):
            for i, c in enumerate(runs):
                ax.plot(
                    c.iterations,
                    c.loss,
                    color=method_color(m),
                    linestyle=DASHES[i % len(DASHES)],
                    linewidth=2.5,
                    label=c.label,
                )
            if all(v > 0 for c in runs for v in c.loss):
                ax.set_yscale("log")
            ax.set_title(method_label(m))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("iteration")
            ax.set_ylabel("loss")
        fig.suptitle(group_title(group, [e for e in group.entries if e.method in curves]))
        legend_below(fig, axes[0])
        return save(fig, path)


def grids_png(entry: Entry, path: Path) -> Path | None:
    """The run's initial and final (or latest) sets, class names beside them: side by side with one row per class,
    or (few images per class) one above the other with one column per class."""
    first = entry.snapshots[0]["abs_path"] if entry.snapshots else None
    last = entry.final_set()
    if not first or not last:
        return None
    sets = [SyntheticSet.load(first), SyntheticSet.load(last)]
    words = ["initial", "final" if entry.finished else f"latest ({entry.status})"]
    if sets[0].meta.get("iteration") == sets[1].meta.get("iteration"):  # no iterations (a coreset): one set
        sets, words = sets[1:], ["the set"]
    titles = [f"{w} (iteration {s.meta.get('iteration')})" for w, s in zip(words, sets, strict=True)]
    title = wrap(figure_title([entry.method], [entry.dataset], [entry.ipc], [entry.protocol]))
    with rc_context(STYLE):
        if min(sets[0].ipc, MAX_PER_CLASS) * 2 < sets[0].num_classes:
            fig = columns_figure(sets, titles)
        else:
            fig = rows_figure(sets, titles)
        fig.suptitle(title)
        return save(fig, path)


def rows_figure(sets: list[SyntheticSet], titles: list[str]) -> Figure:
    """Sets side by side, one row per class named at its left."""
    arrays = [grid_array(s, s.denormalized(), max_per_class=MAX_PER_CLASS) for s in sets]
    h, w = arrays[0].shape[:2]
    fig, axes = new_figure(min(16.0, max(6.0, (WIDTH_IN / 2 - 1.2) * h / w + 2.2)), cols=2)
    for ax, syn, arr, title in zip(axes, sets, arrays, titles, strict=False):
        ax.imshow(arr, interpolation="nearest")
        rows = syn.num_classes
        ax.set_yticks([(i + 0.5) * h / rows for i in range(rows)], class_names(syn), fontsize=16 if rows <= 12 else 11)
        ax.set_xticks([])
        bare(ax)
        ax.set_title(title)
    if len(sets) == 1:
        axes[1].set_axis_off()
    return fig


def columns_figure(sets: list[SyntheticSet], titles: list[str]) -> Figure:
    """Sets one above the other, one column per class named above it."""
    arrays = [class_columns_array(s, s.denormalized(), max_per_class=MAX_PER_CLASS) for s in sets]
    h, w = arrays[0].shape[:2]
    panel = (WIDTH_IN - 1.0) * h / w + 1.2  # each panel's height in inches: the image, its title and names
    fig = Figure(figsize=(WIDTH_IN, min(16.0, max(4.0, panel * len(sets) + 1.0))), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(sets), 1, squeeze=False)[:, 0]
    for ax, syn, arr, title in zip(axes, sets, arrays, titles, strict=True):
        ax.imshow(arr, interpolation="nearest")
        k = syn.num_classes
        ax.set_xticks([(i + 0.5) * w / k for i in range(k)], class_names(syn), fontsize=16 if k <= 12 else 11)
        ax.xaxis.tick_top()
        ax.set_yticks([])
        bare(ax)
        ax.set_title(title, pad=34)
    return fig


def bare(ax) -> None:
    """No frame, no tick marks (the labels stay)."""
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(left=False, top=False, bottom=False)


def write_figures(entries: list[Entry], group_list: list[Group], folder: Path) -> list[Path]:
    """Every slide figure and each run's GIF, flat in ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path | None] = []
    for i, g in enumerate(group_list, start=1):
        name = f"{i}-{slug(g.dataset)}"
        items = bars(g)
        if items:
            out.append(accuracy_png(g, items, folder / f"accuracy-{name}.png"))
        out.append(ipc_png(g, folder / f"accuracy-vs-ipc-{name}.png"))
        out.append(loss_png(g, folder / f"loss-{name}.png"))
    for e in entries:
        out.append(grids_png(e, folder / f"grids-run{e.id}.png"))
        if len(e.snapshots) > 1:
            total = e.run.get("total_iterations") or e.config.get("iterations")
            gif = snapshots_gif([(s["iteration"], s["abs_path"]) for s in e.snapshots], total_iterations=total)
            (folder / f"snapshots-run{e.id}.gif").write_bytes(gif)
            out.append(folder / f"snapshots-run{e.id}.gif")
    return [p for p in out if p is not None]
