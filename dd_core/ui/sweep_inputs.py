"""What the Sweep form holds, and the ``sweep`` command line it stands for (no Streamlit here).

The form's values become the argv of ``python -m dd_core sweep``, which ``dd_core.cli.sweep.plan`` validates and
expands into trials exactly as the command would; the resources become the driver job's ``job`` dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRESET_NONE = "none"
SHORT_LABELS = {"ipc": "IPC"}  # table columns: shorter than the form's labels


@dataclass
class SweepInputs:
    """The Sweep form's values (texts as typed; None: left to the preset or the method's default)."""

    methods: list[str]
    dataset: str = "mnist-5k"
    path: str | None = None
    preset: str = PRESET_NONE
    ipc: str = ""
    grid: list[tuple[str, str]] = field(default_factory=list)  # (grid key, its comma-separated values)
    seeds: str = ""
    iterations: int | None = None
    eval_models: int | None = None
    eval_epochs: int | None = None
    cpus: float | None = None
    gpus: float = 0.0
    address: str = ""
    dashboard: bool = False

    def argv(self) -> list[str]:
        """The arguments of ``python -m dd_core sweep`` for these values."""
        out: list[str] = []
        if self.methods:
            out += ["--method", ",".join(self.methods)]
        out += ["--dataset", self.dataset]
        if self.path:
            out += ["--data-path", self.path]
        if self.preset and self.preset != PRESET_NONE:
            out += ["--preset", self.preset]
        if self.ipc.strip():
            out += ["--grid", f"ipc={self.ipc.strip()}"]
        for key, values in self.grid:
            out += ["--grid", f"{key}={values.strip()}"]
        if self.seeds.strip():
            out += ["--seeds", self.seeds.strip()]
        for flag, value in (
            ("--iterations", self.iterations),
            ("--eval-models", self.eval_models),
            ("--eval-epochs", self.eval_epochs),
        ):
            if value is not None:
                out += [flag, str(int(value))]
        if self.cpus is not None:
            out += ["--cpus-per-trial", f"{self.cpus:g}"]
        if self.gpus:
            out += ["--gpus-per-trial", f"{self.gpus:g}"]
        if self.address.strip():
            out += ["--address", self.address.strip()]
        if self.dashboard:
            out.append("--ray-dashboard")
        return out

    def job(self) -> dict:
        """The driver job's resources: ``{"address", "cpus_per_trial", "gpus_per_trial", "ray_dashboard"}``."""
        return {
            "address": self.address.strip() or None,
            "cpus_per_trial": None if self.cpus is None else float(self.cpus),
            "gpus_per_trial": float(self.gpus or 0.0),
            "ray_dashboard": bool(self.dashboard),
        }

    def grid_slots(self) -> dict[str, str]:
        """Grid key → the form field holding its values (``ipc`` → ``ipc``, the others → ``grid1`` / ``grid2``)."""
        slots = {"ipc": "ipc"}
        for i, (key, _) in enumerate(self.grid, start=1):
            slots[key] = f"grid{i}"
        return slots


def grid_key_options(methods: list[str]) -> list[str]:
    """The keys a grid may vary for ``methods``: their config fields (first method's order first, without the seed
    and IPC, which have fields of their own), then the run options."""
    from dd_core.methods import METHODS
    from dd_core.sweeps.grid import RUN_KEYS

    keys: list[str] = []
    for m in methods:
        for f in METHODS[m].config_cls.fields() if m in METHODS else []:
            if f not in ("seed", "ipc") and f not in keys:
                keys.append(f)
    return keys + [k for k in RUN_KEYS if k not in keys]


def key_methods(key: str, methods: list[str]) -> list[str]:
    """The methods of ``methods`` a grid key applies to (a run option: all of them)."""
    from dd_core.methods import METHODS
    from dd_core.sweeps.grid import RUN_KEYS

    if key in RUN_KEYS:
        return list(methods)
    return [m for m in methods if m in METHODS and key in METHODS[m].config_cls.fields()]


def key_label(key: str, methods: list[str] | None = None) -> str:
    """A grid key in the form's words ('Image learning rate', '... (DM, AM only)' when some methods lack it)."""
    from .fmt import method_label
    from .forms import label_for

    label = label_for(key)
    if methods:
        users = key_methods(key, methods)
        if len(users) < len(methods):
            label += f" ({', '.join(method_label(m) for m in users)} only)"
    return label


def column_label(key: str) -> str:
    """A grid key as a table column."""
    from .forms import label_for

    return SHORT_LABELS.get(key) or label_for(key)
