"""``python -m dd_core bench``: seconds per iteration of each method next to the bare network work it must do.

For every method: median seconds of ``step()`` after warm-up; ``bare_seconds`` = the same iteration's network work
timed alone (forward of the real batch in the method's chunk size and memory layout without gradient, plus
forward+backward of the synthetic batch through the same net); ``overhead`` = their ratio. Evaluation speed is
measured on a few epochs of one model and projected to the default protocol (labelled as projected).
"""

from __future__ import annotations

import resource
import statistics
import time
from typing import Any

import torch

from .config import EvalConfig, default_protocol
from .data import RealData
from .device import place
from .evaluate import evaluate_synthetic, test_accuracy
from .methods import build_method
from .methods.dm import DM
from .methods.pad import PAD
from .methods.random_nets import chunks
from .nets import build_net


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_seconds(fn, repeats: int, device: torch.device) -> float:
    times = []
    for i in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn(i)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bare_seconds(method, repeats: int) -> float:
    """Median seconds of the bare network work of one iteration of a DM-family ``method``."""
    net, prep = method.model.net, method.model.prepare
    per_class = method.cfg.batch_real
    idx = torch.cat([members[:per_class] for members in method.real.class_indices])
    real_x = prep(method.real.train_images[idx])
    syn_x = prep(method.images.detach().clone()).requires_grad_(True)

    def work(_: int) -> None:
        with torch.no_grad():
            for _, x in chunks(real_x, method.chunk):
                net.embed(x)
        net.embed(syn_x).square().sum().backward()
        syn_x.grad = None

    work(0)
    return _median_seconds(work, repeats, method.device)


# PAD in the bench: a fresh (uncached) single short expert, then the matching iterations; `pad_options` overrides
PAD_BENCH = {
    "experts": 1,
    "trajectory_epochs": 4,
    "expert_epochs": 2,
    "min_start_epoch": 0,
    "current_max_start_epoch": 1,
    "max_start_epoch": 2,
    "syn_steps": 10,
    "score_models": 1,
    "score_epochs": 1,
}


def run_bench(
    real: RealData,
    methods: list[str],
    *,
    ipc: int,
    batch_real: int | None,
    iterations: int = 10,
    warmup: int = 3,
    eval_epochs: int = 20,
    pad_options: dict | None = None,
) -> dict:
    import tempfile

    device = real.train_images.device
    results, chunk = [], None
    for name in methods:
        opts: dict[str, Any] = {"ipc": ipc, "seed": 0}
        events: list[dict] = []
        if name == "pad":
            opts.update(PAD_BENCH, experts_path=tempfile.mkdtemp(prefix="dd-bench-experts-"), **(pad_options or {}))
        elif batch_real is not None and name in ("dm", "am"):
            opts["batch_real"] = batch_real
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        method = build_method(name, real, opts, device, on_event=events.append)
        setup = time.perf_counter() - t0
        for i in range(warmup):
            method.step(i)
        spi = _median_seconds(lambda i, m=method: m.step(warmup + i), iterations, device)
        record = {"method": name, "seconds_per_iteration": spi, "setup_seconds": setup}
        if hasattr(method.cfg, "batch_real"):
            record["batch_real"] = method.cfg.batch_real
        if isinstance(method, PAD):
            done = [e for e in events if e.get("phase") == "experts" and e.get("final")]
            expert_seconds = sum(e["seconds"] for e in done)
            record.update(
                seconds_per_expert_epoch=expert_seconds / (len(done) * method.experts.epochs),
                difficulty_seconds=setup - expert_seconds,
                syn_steps=method.cfg.syn_steps,
                batch_syn=method.batch_syn,
                memory_estimate_mb=method.memory_estimate() / 2**20,
            )
        if isinstance(method, DM):  # and AM
            bare = bare_seconds(method, iterations)
            chunk = method.chunk
            record.update(bare_seconds=bare, overhead=spi / bare, chunk=method.chunk)
        record["peak_rss_mb"] = peak_rss_mb()
        if device.type == "cuda":
            record["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        results.append(record)
        last = method
    # evaluation: one model, a few training epochs and one test pass, projected to the device's default protocol
    syn = last.synthetic
    cfg = EvalConfig.from_protocol("quick", device=device, epochs=eval_epochs, n_models=1)
    t0 = time.perf_counter()
    rec = evaluate_synthetic(syn.images, syn.labels, real, [last.net_name], cfg)[0]
    eval_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    test_accuracy(
        place(build_net(last.net_name, real.meta.channels, real.meta.num_classes, real.meta.image_size), device),
        real.test_images,
        real.test_labels,
    )
    test_seconds = time.perf_counter() - t0
    per_epoch = max(0.0, rec["seconds"] - test_seconds) / eval_epochs
    protocol = EvalConfig.from_protocol(default_protocol(device), device=device)
    projected = (per_epoch * protocol.epochs + test_seconds) * protocol.n_models
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "dataset": real.meta.name,
        "ipc": ipc,
        "batch_real": batch_real if batch_real is not None else results[0].get("batch_real"),
        "chunk": chunk,
        "iterations_timed": iterations,
        "warmup": warmup,
        "results": results,
        "eval_seconds": eval_seconds,
        "eval_epochs": eval_epochs,
        "eval_net": last.net_name,
        "eval_train_seconds_per_epoch": per_epoch,
        "eval_test_seconds": test_seconds,
        "eval_projected_seconds": {
            "protocol": protocol.protocol,
            "epochs": protocol.epochs,
            "n_models": protocol.n_models,
            "seconds": projected,
        },
    }
