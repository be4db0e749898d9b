"""Jobs: what one run does, given a validated RunConfig. The CLI and the background worker both call these, so a
run from the dashboard and the same run from the command line take the same path (and the same time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from .config import BaselineConfig, EvalConfig, coerce_options
from .data import RealData, load_dataset
from .errors import ConfigError
from .evaluate import Stopped
from .events import EventFn, ProgressEvent, StopFn
from .methods.pad import PADConfig, experts_options
from .reference import ReferenceCache, References, evaluate_against_random
from .spec import RunConfig


def load_real(cfg: RunConfig, device: torch.device) -> RealData:
    return load_dataset(cfg.dataset, **cfg.dataset_options).to(device)


def eval_config(cfg: RunConfig, device: torch.device) -> EvalConfig:
    return EvalConfig(**cfg.eval) if cfg.eval else EvalConfig.from_protocol(None, device=device)


def check_nets(names: list[str] | None, real: RealData) -> None:
    from .nets import build_net

    for name in names or []:
        build_net(name, real.meta.channels, real.meta.num_classes, real.meta.image_size)


# what a method's set-up spends its time on (named on the page instead of "iteration 0")
SETUP_STEP = {
    "dm": "measuring the fastest real-batch chunk size",
    "am": "measuring the fastest real-batch chunk size",
    "pad": "difficulty scores and expert trajectories (built or loaded)",
    "herding": "training the feature network",
}


def references_for(
    cfg: RunConfig,
    real: RealData,
    ipc: int,
    ecfg: EvalConfig,
    cache: ReferenceCache | None,
    on_event: EventFn,
    should_stop: StopFn | None,
    iteration: Callable[[], int | None] = lambda: None,
) -> References:
    """The job's random-real references (turned off by ``cfg.reference = False``), reporting ``reference`` progress."""
    return References(
        real,
        ipc,
        ecfg,
        enabled=cfg.reference,
        dataset_options=cfg.dataset_options,
        cache=cache,
        on_progress=lambda p: on_event({"type": "progress", "iteration": iteration(), **p}),
        should_stop=should_stop,
    )


def evaluation_plan(method, nets: list[str], eval_at: list[int], ecfg: EvalConfig, refs: References) -> dict:
    """What is left after the iterations, for an ETA that includes it: the estimated seconds of one evaluation (all
    nets; twice for a set with learned labels, also evaluated with hard labels) and of the references to compute."""
    from .evaluate import estimate_eval_seconds
    from .reference import SUBSETS

    syn = method.synthetic
    n_images, n_random = len(syn.images), method.cfg.ipc * method.real.meta.num_classes
    hard_too = syn.soft_labels is not None or syn.lr is not None
    per_net = {net: estimate_eval_seconds(n_images, method.real, net, ecfg) for net in nets}
    ref_seconds = sum(
        (per_net[net] if n_random == n_images else estimate_eval_seconds(n_random, method.real, net, ecfg)) * SUBSETS
        for net in nets
        if not refs.cached(net)
    )
    return {
        "eval_at": eval_at,
        "nets": nets,
        "eval_seconds": sum(per_net.values()) * (2 if hard_too else 1),
        "reference_seconds": ref_seconds,
        "hard_label_eval": hard_too,
        "reference": refs.enabled,
    }


def run_distill(
    cfg: RunConfig,
    device: torch.device,
    out_dir: Path,
    on_event: EventFn,
    should_stop: StopFn | None = None,
    cache: ReferenceCache | None = None,
) -> dict:
    """Distill with ``cfg``; save ``synthetic.pt`` and PNG grids into ``out_dir``; return the JSON record.
    ``cache`` (the run store) keeps the random-real references."""
    from .methods import build_method
    from .runner import last_and_best, run_distillation

    on_event(ProgressEvent(type="progress", phase="setup", step="loading the dataset"))
    real = load_real(cfg, device)
    check_nets(cfg.eval_nets, real)
    ecfg = eval_config(cfg, device)
    t0 = time.perf_counter()
    assert cfg.method, "validated: a distill run has a method"
    on_event(ProgressEvent(type="progress", phase="setup", step=SETUP_STEP.get(cfg.method, "building the method")))
    method = build_method(cfg.method, real, dict(cfg.method_options), device, on_event, should_stop)
    seconds_setup = time.perf_counter() - t0  # herding's feature net, PAD's scores and experts, chunk choice
    iterations, eval_at = (cfg.iterations, list(cfg.eval_at)) if method.iterative else (0, [0])
    nets = cfg.eval_nets or [method.net_name]
    refs = references_for(cfg, real, method.cfg.ipc, ecfg, cache, on_event, should_stop, lambda: method.iteration)
    if eval_at:
        on_event(ProgressEvent(type="progress", phase="setup", step="estimating the evaluation time"))
    plan = evaluation_plan(method, nets, eval_at, ecfg, refs) if eval_at else {"eval_at": [], "nets": nets}
    on_event(ProgressEvent(type="progress", phase="setup", step="done", final=True, plan=plan))
    summary = run_distillation(
        method,
        iterations,
        eval_at=eval_at,
        eval_nets=cfg.eval_nets,
        eval_cfg=ecfg,
        on_event=on_event,
        should_stop=should_stop,
        eval_seed=method.cfg.seed,
        references=refs,
    )
    syn = method.synthetic
    experts = getattr(method, "experts", None)
    path = syn.save(out_dir / "synthetic.pt")
    syn.export_pngs(out_dir / "png")
    evals = [{k: v for k, v in e.items() if k not in ("accs", "seconds")} for e in summary["evals"]]
    return {
        "method": cfg.method,
        "dataset": cfg.dataset,
        "ipc": method.cfg.ipc,
        "iterations": summary["iterations"],
        "init": method.cfg.init,
        "net": method.net_name,
        "seconds_distill": summary["seconds_distill"],
        "seconds_setup": seconds_setup,
        "seconds_per_iteration": summary["seconds_per_iteration"],
        "evals": evals,
        "synthetic_path": str(path),
        "stopped": summary["stopped"],
        "device": str(device),
        "config": method.cfg.to_dict(),
        "eval_config": ecfg.to_dict(),
        **({"checkpoints": last_and_best(evals)} if len({e["iteration"] for e in evals}) > 1 else {}),
        **({"experts": experts_record(experts)} if experts is not None else {}),
        **({"learned_lr": syn.lr} if syn.lr is not None else {}),
    }


def experts_record(experts) -> dict:
    return {
        "folder": str(experts.folder),
        "count": len(experts),
        "epochs": experts.epochs,
        "built": experts.built,
        "cached": len(experts) - experts.built,
    }


def run_experts_job(cfg: RunConfig, device: torch.device, on_event: EventFn, should_stop: StopFn | None = None) -> dict:
    """Build (or load) the expert trajectories a PAD run with ``cfg.method_options`` needs."""
    from .methods import method_config
    from .methods.experts import get_experts
    from .nets import default_net_for

    pcfg = method_config("pad", experts_options(coerce_options(PADConfig, cfg.method_options)))
    real = load_real(cfg, device)
    net = pcfg.net or default_net_for(real.meta.image_size)
    check_nets([net], real)
    start = time.perf_counter()
    experts = get_experts(
        real, net, pcfg.expert_config(), folder=pcfg.experts_path, on_event=on_event, should_stop=should_stop
    )
    seconds = time.perf_counter() - start
    return {
        "dataset": real.meta.name,
        "net": net,
        **experts_record(experts),
        "seconds": seconds,
        "seconds_per_expert_epoch": seconds / max(1, experts.built * experts.epochs) if experts.built else None,
        "scheduler": pcfg.scheduler,
        "device": str(device),
        "config": json_config(pcfg.expert_config()),
    }


def json_config(cfg) -> dict:
    from dataclasses import asdict

    return asdict(cfg)


def run_baseline_job(
    cfg: RunConfig, device: torch.device, on_event: EventFn, should_stop: StopFn | None = None
) -> dict:
    """Whole-dataset training; per-epoch ``epoch`` events (loss, lr, test accuracy)."""
    from .baseline import run_baseline
    from .nets import default_net_for

    real = load_real(cfg, device)
    options = dict(cfg.baseline or {})
    options.setdefault("net", default_net_for(real.meta.image_size))
    bcfg = BaselineConfig(dataset=cfg.dataset, dataset_options=cfg.dataset_options, **options)
    check_nets([bcfg.net], real)
    res = run_baseline(
        real, bcfg, on_epoch=lambda p: on_event({"type": "epoch", "epochs": bcfg.epochs, **p}), should_stop=should_stop
    )
    return {
        **{k: res[k] for k in ("dataset", "net", "epochs", "test_acc", "seconds", "curve")},
        "device": str(device),
        "config": bcfg.to_dict(),
    }


def run_evaluate_job(
    cfg: RunConfig,
    device: torch.device,
    on_event: EventFn,
    should_stop: StopFn | None = None,
    cache: ReferenceCache | None = None,
) -> dict:
    """Evaluate a saved synthetic set (or IPC random real images) on ``eval_nets``; ``eval`` events. A saved set
    gets the random-real reference beside it; random real images are their own reference."""
    from .methods.base import random_real
    from .nets import default_net_for
    from .synthetic import SyntheticSet

    if cfg.synthetic_path:
        syn = SyntheticSet.load(cfg.synthetic_path)
        if syn.meta["dataset"] != cfg.dataset:
            raise ConfigError(
                f"{cfg.synthetic_path} was distilled from {syn.meta['dataset']!r}, not {cfg.dataset!r}",
                field="dataset",
            )
        real = load_real(cfg, device)
        syn.check_compatible(real.meta)
        images, labels, soft, lr, ipc = syn.images, syn.labels, syn.soft_labels, syn.lr, syn.ipc
        iteration = syn.meta.get("iteration")
    else:
        real = load_real(cfg, device)
        seed = int(cfg.method_options.get("seed", 0))
        ipc = int(cfg.method_options["ipc"])
        images, labels = random_real(real, ipc, torch.Generator().manual_seed(seed))
        soft, lr, iteration = None, None, 0
    nets = cfg.eval_nets or [default_net_for(real.meta.image_size)]
    check_nets(nets, real)
    ecfg = eval_config(cfg, device)
    refs = references_for(cfg, real, ipc, ecfg, cache, on_event, should_stop) if cfg.synthetic_path else None
    start = time.perf_counter()
    evals = []
    for name in nets:  # one net at a time, so each result is stored as soon as it exists
        rec = evaluate_against_random(
            images,
            labels,
            real,
            [name],
            ecfg,
            refs,
            soft_labels=soft,
            lr=lr,
            on_progress=lambda p: on_event({"type": "progress", "iteration": iteration, **p}),
            should_stop=should_stop,
        )[0]
        rec = {"iteration": iteration, **rec}
        evals.append(rec)
        on_event({"type": "eval", **rec})
    return {
        "dataset": real.meta.name,
        "ipc": ipc,
        "source": cfg.synthetic_path or "random-real",
        "protocol": ecfg.protocol,
        "eval_config": ecfg.to_dict(),
        "evals": evals,
        "seconds": time.perf_counter() - start,
        "device": str(device),
    }


def execute(
    cfg: RunConfig,
    device: torch.device,
    out_dir: Path,
    on_event: EventFn,
    should_stop: StopFn | None = None,
    cache: ReferenceCache | None = None,
) -> tuple[str, dict]:
    """Run the job of ``cfg.kind``; return (final status 'done' | 'cancelled', record). ``cache``: where the
    random-real references are kept (the run store)."""
    try:
        if cfg.kind == "distill":
            record = run_distill(cfg, device, out_dir, on_event, should_stop, cache)
            return ("cancelled" if record["stopped"] else "done"), record
        if cfg.kind == "evaluate":
            return "done", run_evaluate_job(cfg, device, on_event, should_stop, cache)
        job = {"baseline": run_baseline_job, "experts": run_experts_job}[cfg.kind]
        return "done", job(cfg, device, on_event, should_stop)
    except Stopped:
        return "cancelled", {}
