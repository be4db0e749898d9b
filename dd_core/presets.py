"""Named presets for ``distill --preset NAME`` and the dashboard: a preset fills every option the user left unset.

Keys: run options (dataset, ipc, iterations, eval_at, eval_nets, eval_models, eval_epochs, protocol) and method
options (any field of the method's config). ``cpu-demo`` is sized for a
live demo on a 2-core laptop CPU (IPC 1, noise init: distillation visibly beats random real images); ``cpu-ipc10``
is the same budget at IPC 10; ``paper`` holds the papers' GPU settings.
"""

from __future__ import annotations

from .errors import ConfigError

# DM and AM at IPC 10 share one CPU budget: 100 iterations at batch_real 64, one evaluation of 1 model x 150 epochs
_IPC10_DISTILL = {
    "dataset": "mnist-5k",
    "ipc": 10,
    "iterations": 100,
    "batch_real": 64,
    "eval_at": "final",
    "eval_models": 1,
    "eval_epochs": 150,
}

PRESETS: dict[str, dict[str, dict]] = {
    # A live demo on a 2-core CPU that shows distillation beating random real images: IPC 1 (where random real
    # images leave the most room: ≈ 57 % on mnist-5k) from Gaussian noise, so the images visibly change. Measured
    # from an empty data home, distillation + evaluation + the random-real reference (docs/results.md, "Presets"):
    # DM 200 iterations ≈ 90 s, 85.5 % vs random real 57.1 %; AM 150 iterations ≈ 95 s, 83.3 %.
    "cpu-demo": {
        "dm": {
            "dataset": "mnist-5k",
            "ipc": 1,
            "init": "noise",
            "iterations": 200,
            "batch_real": 64,
            "eval_at": "final",
            "eval_models": 1,
            "eval_epochs": 150,
        },
        "am": {
            "dataset": "mnist-5k",
            "ipc": 1,
            "init": "noise",
            "iterations": 150,
            "batch_real": 64,
            "eval_at": "final",
            "eval_models": 1,
            "eval_epochs": 150,
        },
        "random": {"dataset": "mnist-5k", "ipc": 1, "eval_models": 1, "eval_epochs": 150},
        "herding": {"dataset": "mnist-5k", "ipc": 1, "eval_models": 1, "eval_epochs": 150, "feature_epochs": 2},
        # PAD's whole pipeline at IPC 1 (difficulty scores, 2 experts x 6 epochs, 100 iterations of 20 student
        # steps over the whole 10-image set, one evaluation with soft labels and one with hard labels): ≈ 5 min
        # from an empty data home on 2 cores, ≈ 3 min with the experts cached; start epochs 0 -> 1 growing to 3
        # of the 6-epoch trajectories over the first 40 iterations (official: 10 -> 20 of 100 epochs).
        "pad": {
            "dataset": "mnist-5k",
            "ipc": 1,
            "iterations": 100,
            "init": "correct",
            "experts": 2,
            "trajectory_epochs": 6,
            "score_models": 1,
            "score_epochs": 2,
            "syn_steps": 20,
            "expert_epochs": 2,
            "min_start_epoch": 0,
            "current_max_start_epoch": 1,
            "max_start_epoch": 3,
            "expansion_end": 40,
            "eval_at": "final",
            "eval_models": 1,
            "eval_epochs": 150,
        },
    },
    # The same CPU budget at IPC 10, the setting papers report (on mnist-5k random real images already reach ≈ 94-95 %
    # here: the distilled sets do not visibly beat them at this budget; docs/results.md).
    "cpu-ipc10": {
        "dm": dict(_IPC10_DISTILL),
        "am": dict(_IPC10_DISTILL),
        "random": {"dataset": "mnist-5k", "ipc": 10, "eval_models": 1, "eval_epochs": 150},
        "herding": {"dataset": "mnist-5k", "ipc": 10, "eval_models": 1, "eval_epochs": 150, "feature_epochs": 2},
        # 3 experts x 10 epochs, 80 iterations at 10 steps x 50 images: < 15 min from an empty data home
        "pad": {
            "dataset": "mnist-5k",
            "ipc": 10,
            "iterations": 80,
            "init": "correct",
            "experts": 3,
            "trajectory_epochs": 10,
            "score_models": 1,
            "score_epochs": 2,
            "syn_steps": 10,
            "batch_syn": 50,
            "expert_epochs": 2,
            "min_start_epoch": 0,
            "current_max_start_epoch": 1,
            "max_start_epoch": 4,
            "expansion_end": 40,
            "eval_at": "final",
            "eval_models": 1,
            "eval_epochs": 150,
        },
    },
    # The papers' settings (GPU-sized): 20k iterations, evaluation every 2,000 with the paper protocol.
    "paper": {
        "dm": {"iterations": 20000, "batch_real": 256, "eval_at": "every:2000", "protocol": "paper"},
        "am": {"iterations": 20000, "batch_real": 64, "eval_at": "every:2000", "protocol": "paper"},
        "random": {"protocol": "paper"},
        "herding": {"protocol": "paper"},
        # CIFAR-10 IPC 10 settings of the official configs (without ZCA for 28 px data), 50 experts x 50 epochs
        "pad": {
            "iterations": 10000,
            "experts": 50,
            "trajectory_epochs": 50,
            "syn_steps": 80,
            "expert_epochs": 2,
            "current_max_start_epoch": 10,
            "max_start_epoch": 20,
            "expansion_end": 1000,
            "eval_at": "every:500",
            "protocol": "paper",
        },
    },
}


def preset_options(name: str | None, method: str) -> dict:
    """The preset's options for ``method`` ({} when ``name`` is None)."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}", field="preset")
    if method not in PRESETS[name]:
        raise ConfigError(
            f"preset {name!r} has no settings for method {method!r}; it covers: {', '.join(PRESETS[name])}",
            field="preset",
        )
    return dict(PRESETS[name][method])


def parse_eval_at(spec: str | list[int] | None, iterations: int) -> list[int]:
    """'0,500,1000' | 'final' | 'every:N' (N, 2N, ... and the last) | 'none' → sorted iteration list."""
    if spec is None or spec == "none" or spec == "":
        return []
    if isinstance(spec, list):
        wrong = [s for s in spec if isinstance(s, bool) or not isinstance(s, int)]
        if wrong:
            raise ConfigError(f"evaluation iterations must be whole numbers, got {wrong!r}", field="eval_at")
        return sorted(set(spec))
    out: set[int] = set()
    for part in str(spec).split(","):
        part = part.strip()
        if part == "final":
            out.add(iterations)
        elif part.startswith("every:"):
            try:
                step = int(part.split(":", 1)[1])
            except ValueError:
                raise ConfigError(
                    f"bad evaluation schedule {part!r}: use every:N with a whole N", field="eval_at"
                ) from None
            if step < 1:
                raise ConfigError(f"bad evaluation schedule {part!r}: N must be >= 1", field="eval_at")
            out.update(range(step, iterations + 1, step))
            out.add(iterations)
        else:
            try:
                out.add(int(part))
            except ValueError:
                raise ConfigError(
                    f"bad evaluation iteration {part!r}: use whole numbers, 'final' or 'every:N'", field="eval_at"
                ) from None
    return sorted(out)
