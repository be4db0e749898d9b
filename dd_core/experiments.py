"""The seed experiments, one click each (not ``presets``: those are the option sets of ``--preset``). Each is a
function returning the ``RunConfig`` list that reproduces it, with a GPU budget (the papers' settings) and a CPU
budget (minutes on a 2-core laptop) side by side.

    runs = am_mnist("cpu")                       # [RunConfig(real init), RunConfig(noise init)]
    p = plan("dm-noise")                         # budget by device, MNIST → mnist-5k fallback, availability
    p.runs, p.notes, p.disabled, p.fix

The dashboard's home page and the CLI can both use them. CPU budgets, measured on the 2-core development machine
(one DM iteration at batch_real 64 on 28 px ≈ 0.6 s; an evaluation model ≈ 0.15 s/epoch + ~5 s testing on 10k
images): DM/AM ≤ 300 iterations at batch_real 64, evaluation with 1 model × ≤ 150 epochs — a few minutes per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import EvalConfig
from .spec import RunConfig

BUDGETS = ("gpu", "cpu")
MNIST_FALLBACK = "mnist-5k"

# --------------------------------------------------------------------------------------------------- budgets
# GPU: the papers' settings. CPU: what finishes in a few minutes on 2 cores.
DISTILL_BUDGET: dict[str, dict[str, Any]] = {
    "gpu": {"iterations": 20000, "batch_real": 64, "eval": {"protocol": "paper"}},
    "cpu": {"iterations": 200, "batch_real": 64, "eval": {"protocol": "quick", "epochs": 150, "n_models": 1}},
}
MHIST_BUDGET: dict[
    str, dict[str, Any]
] = {  # ConvNet-7 on 128 px is ~18x the FLOPs of ConvNet-3 on 28 px: the CPU variant uses 64 px, ConvNet-4
    "gpu": {
        "iterations": 20000,
        "batch_real": 64,
        "image_size": 128,
        "net": "convnet-7",
        "eval": {"protocol": "paper"},
    },
    "cpu": {
        "iterations": 100,
        "batch_real": 32,
        "image_size": 64,
        "net": "convnet-4",
        "eval": {"protocol": "quick", "epochs": 100, "n_models": 1},
    },
}
DM_NOISE_BUDGET: dict[str, dict[str, Any]] = {
    "gpu": {"iterations": 1000, "eval_at": [0, 500, 1000], "batch_real": 256, "eval": {"protocol": "paper"}},
    "cpu": {
        "iterations": 300,
        "eval_at": [0, 150, 300],
        "batch_real": 64,
        "eval": {"protocol": "quick", "epochs": 150, "n_models": 1},
    },
}
PAD_BUDGET: dict[str, dict[str, Any]] = {  # the deck's comparison at IPC 10; its own settings, not a preset's
    "gpu": {
        "iterations": 1000,
        "eval_at": list(range(0, 1001, 200)),
        "options": {"trajectory_epochs": 30},
        "eval": {"protocol": "paper"},
    },
    "cpu": {  # 2 experts x 6 epochs, 80 iterations at 10 student steps x 50 images, evaluated at 0 / 40 / 80
        "iterations": 80,
        "eval_at": [0, 40, 80],
        "options": {
            "experts": 2,
            "trajectory_epochs": 6,
            "score_models": 1,
            "score_epochs": 2,
            "syn_steps": 10,
            "batch_syn": 50,
            "expert_epochs": 2,
            "min_start_epoch": 0,
            "current_max_start_epoch": 1,
            "max_start_epoch": 3,
            "expansion_end": 40,
        },
        "eval": {"protocol": "quick", "epochs": 150, "n_models": 1},
    },
}
# Epochs of whole-dataset training (the deck: 20 epochs, SGD 0.01 momentum 0.9, cosine, batch 256). An upper bound
# needs enough SGD steps, not epochs: 2 epochs of mnist-5k are 32 steps (89 %, below the distilled sets); its CPU
# budget is the deck's 20 epochs (320 steps: docs/results.md); 2 epochs of the full 60k MNIST are 470 steps.
BASELINE_BUDGET = {
    "gpu": {"mnist": 20, "mnist-5k": 20, "mhist": 20},
    "cpu": {"mnist": 2, "mnist-5k": 20, "mhist": 20},
}


def _eval(spec: dict) -> dict:
    spec = dict(spec)
    name = spec.pop("protocol")
    return EvalConfig.from_protocol(name, **spec).to_dict()


def _check_budget(budget: str) -> str:
    if budget not in BUDGETS:
        from .errors import ConfigError

        raise ConfigError(f"unknown budget {budget!r}; choose one of: {', '.join(BUDGETS)}")
    return budget


# ------------------------------------------------------------------------------------------------ experiments
def am_mnist(budget: str = "cpu", dataset: str = "mnist") -> list[RunConfig]:
    """AM (DataDAM) on MNIST at IPC 10: initialised from real images vs from Gaussian noise."""
    b = DISTILL_BUDGET[_check_budget(budget)]
    return [
        RunConfig(
            kind="distill",
            dataset=dataset,
            method="am",
            method_options={"ipc": 10, "init": init, "batch_real": b["batch_real"]},
            iterations=b["iterations"],
            eval_at=[b["iterations"]],
            eval=_eval(b["eval"]),
            label=f"am-mnist · {init} init",
        )
        for init in ("real", "noise")
    ]


def am_mhist(budget: str = "cpu", path: str | None = None) -> list[RunConfig]:
    """AM on MHIST (HP vs SSA) at IPC 10: real vs noise init (ConvNet-7 at 128 px; CPU: ConvNet-4 at 64 px)."""
    b = MHIST_BUDGET[_check_budget(budget)]
    options = {"image_size": b["image_size"], **({"path": path} if path else {})}
    return [
        RunConfig(
            kind="distill",
            dataset="mhist",
            dataset_options=dict(options),
            method="am",
            method_options={"ipc": 10, "init": init, "batch_real": b["batch_real"], "net": b["net"]},
            iterations=b["iterations"],
            eval_at=[b["iterations"]],
            eval_nets=[b["net"]],
            eval=_eval(b["eval"]),
            label=f"am-mhist · {init} init",
        )
        for init in ("real", "noise")
    ]


def am_cross_arch(budget: str = "cpu", dataset: str = "mnist") -> list[RunConfig]:
    """The AM set of MNIST (IPC 10, real init) evaluated on ConvNet-3 and, across architectures, on LeNet."""
    b = DISTILL_BUDGET[_check_budget(budget)]
    return [
        RunConfig(
            kind="distill",
            dataset=dataset,
            method="am",
            method_options={"ipc": 10, "init": "real", "batch_real": b["batch_real"]},
            iterations=b["iterations"],
            eval_at=[b["iterations"]],
            eval_nets=["convnet-3", "lenet"],
            eval=_eval(b["eval"]),
            label="am-cross-arch · ConvNet-3 → LeNet",
        )
    ]


def dm_noise(budget: str = "cpu", dataset: str = "mnist") -> list[RunConfig]:
    """DM from Gaussian noise (IPC 10), evaluated at 0 / 500 / 1000 iterations (CPU: 0 / 150 / 300)."""
    b = DM_NOISE_BUDGET[_check_budget(budget)]
    return [
        RunConfig(
            kind="distill",
            dataset=dataset,
            method="dm",
            method_options={"ipc": 10, "init": "noise", "batch_real": b["batch_real"]},
            iterations=b["iterations"],
            eval_at=list(b["eval_at"]),
            eval=_eval(b["eval"]),
            label="dm-noise · evaluated at " + "/".join(map(str, b["eval_at"])),
        )
    ]


def pad_init(budget: str = "cpu", dataset: str = "mnist") -> list[RunConfig]:
    """PAD (IPC 10) from noise vs from samples the expert predicts correctly (seed deck: 51.3 % vs 95.9 %, best over
    checkpoints): evaluated at several checkpoints so the last one and the best are both on screen. The second run
    reuses the experts the first one built."""
    b = PAD_BUDGET[_check_budget(budget)]
    return [
        RunConfig(
            kind="distill",
            dataset=dataset,
            method="pad",
            method_options={"ipc": 10, "init": init, **b["options"]},
            iterations=b["iterations"],
            eval_at=b["eval_at"],
            eval=_eval(b["eval"]),
            label=f"pad · {init} init",
        )
        for init in ("noise", "correct")
    ]


def whole_mnist(budget: str = "cpu", dataset: str = "mnist") -> list[RunConfig]:
    """Whole-dataset ConvNet-3 on MNIST (SGD lr 0.01, momentum 0.9, cosine, batch 256, 20 epochs)."""
    epochs = BASELINE_BUDGET[_check_budget(budget)][dataset if dataset in ("mnist", "mnist-5k") else "mnist"]
    return [
        RunConfig(
            kind="baseline",
            dataset=dataset,
            method=None,
            baseline={"net": "convnet-3", "epochs": epochs, "lr": 0.01, "momentum": 0.9, "batch_size": 256},
            label=f"whole {dataset} · ConvNet-3",
        )
    ]


def whole_mhist(budget: str = "cpu", path: str | None = None) -> list[RunConfig]:
    """Whole-dataset ConvNet-7 on MHIST at 128 px (CPU: ConvNet-4 at 64 px)."""
    b = MHIST_BUDGET[_check_budget(budget)]
    options = {"image_size": b["image_size"], **({"path": path} if path else {})}
    return [
        RunConfig(
            kind="baseline",
            dataset="mhist",
            dataset_options=options,
            method=None,
            baseline={
                "net": b["net"],
                "epochs": BASELINE_BUDGET[budget]["mhist"],
                "lr": 0.01,
                "momentum": 0.9,
                "batch_size": 256,
            },
            label=f"whole mhist · {b['net']}",
        )
    ]


def cpu_demo(budget: str = "cpu", dataset: str = "mnist-5k") -> list[RunConfig]:
    """The ``cpu-demo`` budget of ``dd_core.presets`` for DM and AM (a live demo in about two minutes each)."""
    from .presets import PRESETS, parse_eval_at

    runs = []
    for method in ("dm", "am"):
        p = dict(PRESETS["cpu-demo"][method])
        iterations = p.pop("iterations")
        eval_at = parse_eval_at(p.pop("eval_at"), iterations)
        ecfg = EvalConfig.from_protocol("quick", epochs=p.pop("eval_epochs"), n_models=p.pop("eval_models"))
        ds = p.pop("dataset")
        runs.append(
            RunConfig(
                kind="distill",
                dataset=ds,
                method=method,
                method_options=p,
                iterations=iterations,
                eval_at=eval_at,
                eval=ecfg.to_dict(),
                label=f"cpu-demo · {method}",
            )
        )
    return runs


# ------------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    seed: str  # what the seed experiment showed / asked
    build: Callable[..., list[RunConfig]]
    dataset: str  # 'mnist' (falls back to mnist-5k), 'mhist' (needs its folder) or 'mnist-5k'
    method: str | None  # a method that must be registered (None: baseline)
    gpu: str  # the budgets, in words
    cpu: str


EXPERIMENTS: dict[str, Experiment] = {
    e.key: e
    for e in [
        Experiment(
            "am-mnist",
            "AM on MNIST: real vs noise init",
            "DataDAM attention matching at IPC 10, initialised from real images vs Gaussian noise",
            am_mnist,
            "mnist",
            "am",
            "20,000 iterations, batch_real 64, paper protocol (5 × 1,000 epochs)",
            "200 iterations, batch_real 64, 1 model × 150 epochs",
        ),
        Experiment(
            "am-mhist",
            "AM on MHIST: real vs noise init",
            "DataDAM on the MHIST polyp set (HP vs SSA) at IPC 10, real vs noise init",
            am_mhist,
            "mhist",
            "am",
            "ConvNet-7 at 128 px, 20,000 iterations, paper protocol",
            "ConvNet-4 at 64 px, 100 iterations, batch_real 32, 1 model × 100 epochs",
        ),
        Experiment(
            "am-cross-arch",
            "AM set across architectures (LeNet)",
            "the AM set of MNIST, distilled with ConvNet-3, evaluated on ConvNet-3 and LeNet",
            am_cross_arch,
            "mnist",
            "am",
            "20,000 iterations, paper protocol on both nets",
            "200 iterations, 1 model × 150 epochs per net",
        ),
        Experiment(
            "dm-noise",
            "DM from noise, evaluated at 0/500/1000",
            "distribution matching from Gaussian noise (IPC 10), accuracy after 0, 500 and 1,000 iterations",
            dm_noise,
            "mnist",
            "dm",
            "1,000 iterations, batch_real 256, evaluations at 0/500/1000 (paper protocol)",
            "300 iterations, batch_real 64, evaluations at 0/150/300 (1 model × 150 epochs)",
        ),
        Experiment(
            "pad-init",
            "PAD: noise vs correctly predicted init",
            "PAD from noise vs from samples an expert predicts correctly (seed deck: 51.3 % vs 95.9 %)",
            pad_init,
            "mnist",
            "pad",
            "5 experts × 30 epochs, 80 student steps, 1,000 iterations, evaluated every 200 (paper protocol)",
            "2 experts × 6 epochs, 10 student steps × 50 images, 80 iterations, evaluated at 0/40/80 "
            "(1 model × 150 epochs)",
        ),
        Experiment(
            "whole-mnist",
            "Whole dataset: ConvNet-3 on MNIST",
            "upper bound: ConvNet-3 trained on all of MNIST (SGD 0.01, momentum 0.9, cosine, batch 256)",
            whole_mnist,
            "mnist",
            None,
            "20 epochs",
            "2 epochs on MNIST (470 steps), 20 on mnist-5k (320 steps)",
        ),
        Experiment(
            "whole-mhist",
            "Whole dataset: ConvNet-7 on MHIST",
            "upper bound: ConvNet-7 trained on all of MHIST at 128 px",
            whole_mhist,
            "mhist",
            None,
            "ConvNet-7 at 128 px, 20 epochs",
            "ConvNet-4 at 64 px, 20 epochs",
        ),
        Experiment(
            "demo",
            "demo: DM and AM on mnist-5k (the cpu-demo preset)",
            "a live demo budget (not a seed experiment): DM and AM at IPC 1 from noise on the bundled MNIST digits",
            cpu_demo,
            "mnist-5k",
            None,
            "same as CPU",
            "IPC 1 from noise: DM 200, AM 150 iterations, batch_real 64, 1 model × 150 epochs",
        ),
    ]
}


@dataclass
class Plan:
    """What one click on an experiment would queue here, and why it cannot when ``disabled``."""

    key: str
    title: str
    budget: str
    runs: list[RunConfig] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    disabled: str | None = None  # why the experiment cannot run now
    fix: str | None = None  # what to do about it


def default_budget(device=None) -> str:
    """'gpu' when the runs would go to a CUDA device, else 'cpu'."""
    from .device import pick_device

    try:
        return "gpu" if pick_device(device).type == "cuda" else "cpu"
    except Exception:  # noqa: BLE001 - an unusable device name: plan for the CPU
        return "cpu"


def plan(
    key: str, *, budget: str | None = None, mhist_path: str | None = None, mnist_status: str | None = None
) -> Plan:
    """The runs of experiment ``key`` for this machine: the GPU budget with CUDA, else the CPU one; MNIST falls back
    to ``mnist-5k`` when ``dataset_status('mnist')`` is not 'available' (said in ``notes``); MHIST needs its folder
    (``mhist_path`` or DD_MHIST_DIR); an experiment the engine would refuse is disabled with the reason."""
    from .data import dataset_status
    from .errors import ConfigError
    from .methods import METHODS

    if key not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {key!r}; choose one of: {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[key]
    budget = _check_budget(budget or default_budget())
    p = Plan(key, exp.title, budget)
    p.notes.append(f"{budget.upper()} budget: {exp.gpu if budget == 'gpu' else exp.cpu}")
    if exp.method and exp.method not in METHODS:
        p.disabled = f"method {exp.method!r} is not available"
        return p
    if exp.dataset == "mnist":
        status = mnist_status or dataset_status("mnist").status
        dataset = "mnist"
        if status != "available":
            dataset = MNIST_FALLBACK
            p.notes.append(
                f"MNIST is not available here ({status}): using {MNIST_FALLBACK}, the 5,000 real MNIST "
                "digits bundled offline (4,000 train / 1,000 test)"
            )
        p.runs = exp.build(budget, dataset=dataset)
    elif exp.dataset == "mhist":
        st = dataset_status("mhist", path=mhist_path or None)
        if st.status != "available":
            p.disabled = f"MHIST is missing: {st.detail}"
            p.fix = st.fix
            return p
        p.runs = exp.build(budget, path=mhist_path or None)
    else:
        p.runs = exp.build(budget)
    for cfg in p.runs:  # an experiment the engine would refuse is shown disabled, with the reason
        try:
            cfg.validate()
        except ConfigError as err:
            p.disabled, p.runs = f"this experiment does not validate: {err}", []
            break
    return p


def experiment_runs(key: str, **kw) -> list[RunConfig]:
    """The validated runs of :func:`plan` (raises ConfigError when the experiment cannot run here)."""
    from .errors import ConfigError

    p = plan(key, **kw)
    if p.disabled:
        raise ConfigError(f"{key}: {p.disabled}" + (f"; {p.fix}" if p.fix else ""))
    return [cfg.validate() for cfg in p.runs]
