"""DM as the official loop does it, restated from its description (issue 15's decisive A/B), scored by our evaluator.

    python benchmarks/dm_official_restated.py [--seeds 0,1,2] [--parallel 2] [--iterations 500] [--home DIR] [--json]

Nothing of the engine's distillation path is used: per iteration a **new** plain ConvNet-3 (``nn.Sequential`` of
Conv2d / GroupNorm(C, C) / ReLU / AvgPool, PyTorch's default init under a fresh seed), then **one class at a time**:
256 real images by a NumPy permutation of the class, one DSA transform drawn the official way (an integer seed per
class; the family and every number drawn right after re-seeding torch with seed, seed+1, …, the first sample's
values used for the whole batch), the real and the synthetic batch through the net, the squared distance of their
mean embeddings summed over classes; then SGD (lr 1, momentum 0.5) on the pixels. The transforms are written here
again (zero-padded shift, clipped cutout, bilinear ``affine_grid`` scale / rotation), not taken from
``dd_core.augment``. The set is then scored exactly as ``benchmarks/dm_fidelity.py`` scores the engine's sets
(``quick`` optimiser, 3 ConvNets × 300 epochs, the same random-real reference from the same data home), so the two
benchmarks together are an A/B with one change: the distillation code.

Per seed on a 2-core CPU (no fast paths): 3.3 s per iteration with both threads, ≈ 27 min for 500 iterations plus
≈ 4 min of evaluation; ``--parallel 2`` runs two seeds at a time with one thread each (4.6 s per iteration each).
Every seed's record is kept in the data home (``restated-seed<N>.json``): rerun with more ``--seeds`` to add some.
With the engine's seeds of ``benchmarks/dm_fidelity.py`` in the same ``--home`` it prints both sides' mean ± std over
seeds and Welch's t-test between them. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FAMILIES = ("color", "crop", "cutout", "flip", "scale", "rotate")  # color_crop_cutout_flip_scale_rotate


def plain_convnet(width: int = 128, depth: int = 3) -> nn.Sequential:
    """The official ConvNet-3's feature extractor for 1-channel 28 px images (first conv padded by 3 → 32 px)."""
    layers: list[nn.Module] = []
    c_in = 1
    for d in range(depth):
        layers += [nn.Conv2d(c_in, width, 3, padding=3 if d == 0 else 1), nn.GroupNorm(width, width)]
        layers += [nn.ReLU(inplace=True), nn.AvgPool2d(2, 2)]
        c_in = width
    return nn.Sequential(*layers, nn.Flatten())


class SeededDraws:
    """The official draw mechanism: before each draw torch is re-seeded with the next integer from ``seed``; every
    draw is made for the batch size and only its first value is used (one transform for the whole batch)."""

    def __init__(self, seed: int, n: int):
        self.seed, self.n = seed, n

    def _reseed(self) -> None:
        torch.manual_seed(self.seed)
        self.seed += 1

    def uniform(self) -> float:
        self._reseed()
        return float(torch.rand(self.n)[0])

    def integer(self, low: int, high: int) -> int:
        """Uniform in [low, high)."""
        self._reseed()
        return int(torch.randint(low, high, (self.n,))[0])


def augment(x: Tensor, seed: int) -> Tensor:
    """One siamese DSA transform of batch ``x`` [N,1,28,28] determined by ``seed`` alone (same seed, same transform)."""
    draw = SeededDraws(seed, x.shape[0])
    family = FAMILIES[draw.integer(0, len(FAMILIES))]
    h, w = x.shape[-2:]
    if family == "color":
        x = x + (draw.uniform() - 0.5)  # brightness
        m = x.mean(dim=1, keepdim=True)
        x = (x - m) * (2.0 * draw.uniform()) + m  # saturation (no-op with one channel)
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - m) * (draw.uniform() + 0.5) + m  # contrast
    if family == "crop":
        s = int(h * 0.125 + 0.5)
        dy, dx = draw.integer(-s, s + 1), draw.integer(-s, s + 1)
        padded = F.pad(x, (s, s, s, s))  # out[i, j] = x[i + dy, j + dx], zero outside
        return padded[:, :, s + dy : s + dy + h, s + dx : s + dx + w]
    if family == "cutout":
        side = int(h * 0.5 + 0.5)
        cy, cx = draw.integer(0, h + (1 - side % 2)), draw.integer(0, w + (1 - side % 2))
        top, left = cy - side // 2, cx - side // 2  # the square [top, top + side) × [left, left + side), clipped
        mask = torch.ones(h, w, dtype=x.dtype)
        mask[max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = 0
        return x * mask
    if family == "flip":
        return x.flip(3) if draw.uniform() < 0.5 else x
    if family == "scale":
        r = 1.2
        sx, sy = draw.uniform() * (r - 1 / r) + 1 / r, draw.uniform() * (r - 1 / r) + 1 / r
        theta = torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0]])
    else:  # rotate
        a = (draw.uniform() - 0.5) * 2 * math.radians(15.0)
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def distill(images: Tensor, labels: Tensor, ipc: int, iterations: int, seed: int, log_every: int = 50) -> Tensor:
    """The restated official DM loop; returns the synthetic images [10·ipc,1,28,28] after ``iterations`` updates."""
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels.numpy() == c) for c in range(10)]
    syn = torch.cat([images[rng.permutation(idx)[:ipc]] for idx in by_class]).clone().requires_grad_(True)
    opt = torch.optim.SGD([syn], lr=1.0, momentum=0.5)
    t0 = time.perf_counter()
    for it in range(iterations):
        torch.manual_seed(int(rng.integers(100_000)))  # the official loop seeds torch from the clock here
        net = plain_convnet()
        for p in net.parameters():
            p.requires_grad_(False)
        loss = torch.zeros(())
        for c, idx in enumerate(by_class):
            class_seed = int(rng.integers(100_000))
            real = augment(images[rng.permutation(idx)[:256]], class_seed)
            fake = augment(syn[c * ipc : (c + 1) * ipc], class_seed)
            with torch.no_grad():
                mean_real = net(real).mean(0)
            loss = loss + ((mean_real - net(fake).mean(0)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (it + 1) % log_every == 0:
            per_it = (time.perf_counter() - t0) / (it + 1)
            print(f"  it {it + 1}: loss {loss.item():.3f}  {per_it:.2f} s/it", flush=True)
    return syn.detach()


def measure(seed: int, iterations: int, epochs: int, models: int, home: Path) -> dict:
    """Distil one set with the restated loop at ``seed`` and score it; the record is also written to
    ``<home>/restated-seed<seed>.json`` (beside the set's ``.pt``), so a rerun with the same home skips the seed."""
    from dd_core.config import EvalConfig
    from dd_core.data import load_dataset
    from dd_core.evaluate import evaluate_synthetic
    from dd_core.reference import random_reference
    from dd_core.runs import RunStore

    real = load_dataset("fashion-mnist")
    t0 = time.perf_counter()
    syn = distill(real.train_images, real.train_labels, 10, iterations, seed)
    distill_s = time.perf_counter() - t0
    labels = torch.arange(10).repeat_interleave(10)
    torch.save({"images": syn, "labels": labels}, home / f"restated-seed{seed}.pt")
    cfg = EvalConfig.from_protocol("quick", device="cpu", epochs=epochs, n_models=models)
    rec = evaluate_synthetic(syn, labels, real, ["convnet-3"], cfg, seed=seed)[0]
    with RunStore() as store:
        ref = random_reference(real, 10, "convnet-3", cfg, dataset_options={}, cache=store)
    out = {
        "seed": seed,
        "iterations": iterations,
        "threads": torch.get_num_threads(),
        "distill_seconds": distill_s,
        "acc_mean": rec["acc_mean"] * 100,
        "acc_std": rec["acc_std"] * 100,
        "accs": [a * 100 for a in rec["accs"]],
        "random_real": ref["random_acc_mean"] * 100,
        "evaluation": f"quick, {models} models x {epochs} epochs",
    }
    (home / f"restated-seed{seed}.json").write_text(json.dumps(out))
    return out


def done_seeds(home: Path, iterations: int, epochs: int, models: int) -> dict[int, dict]:
    """{seed: record} of the restated sets already measured in ``home`` at these settings."""
    found = {}
    for f in home.glob("restated-seed*.json"):
        rec = json.loads(f.read_text())
        if rec["iterations"] == iterations and rec["evaluation"] == f"quick, {models} models x {epochs} epochs":
            found[int(rec["seed"])] = rec
    return found


def run_parallel(seeds: list[int], args: argparse.Namespace, home: Path) -> None:
    """Each seed in its own process with one thread, ``--parallel`` at a time (2 on a 2-core CPU)."""
    base = [sys.executable, __file__, "--home", str(home), "--threads", "1", "--iterations", str(args.iterations)]
    base += ["--eval-epochs", str(args.eval_epochs), "--eval-models", str(args.eval_models)]
    pending = list(seeds)
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < args.parallel:
            running.append(subprocess.Popen([*base, "--seeds", str(pending.pop(0))]))
        time.sleep(5)
        for proc in [p for p in running if p.poll() is not None]:
            running.remove(proc)
            if proc.returncode != 0:
                raise SystemExit(f"a seed's process failed (exit {proc.returncode}); its output is above")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0", help="comma-separated; seeds already measured in --home are skipped")
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--eval-epochs", type=int, default=300)
    ap.add_argument("--eval-models", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=1, help="seeds at a time, one thread each (2 on 2 cores)")
    ap.add_argument("--home", type=Path, default=None, help="the data home of benchmarks/dm_fidelity.py (reference)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="dd-dm-restated-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DD_HOME"] = str(home)
    from dd_core.device import tune_cpu_allocator

    tune_cpu_allocator()
    torch.set_num_threads(args.threads)
    seeds = [int(x) for x in args.seeds.split(",")]
    todo = [s for s in seeds if s not in done_seeds(home, args.iterations, args.eval_epochs, args.eval_models)]
    if args.parallel > 1 and len(todo) > 1:
        run_parallel(todo, args, home)
    else:
        for seed in todo:
            measure(seed, args.iterations, args.eval_epochs, args.eval_models, home)
    recs = done_seeds(home, args.iterations, args.eval_epochs, args.eval_models)
    print(f"restated official DM, {args.iterations} iterations, {args.eval_models} models x {args.eval_epochs} epochs:")
    for seed in seeds:
        r = recs[seed]
        per_it = r["distill_seconds"] / r["iterations"]
        how = f"{per_it:.2f} s/it, {r['threads']} thread(s)"
        print(f"  seed {seed}: {r['acc_mean']:.2f} ± {r['acc_std']:.2f} %  ({how})")
    accs = [recs[s]["acc_mean"] for s in seeds]
    out: dict = {"home": str(home), "per_seed": {s: recs[s] for s in seeds}}
    print(f"random real: {recs[seeds[0]]['random_real']:.2f} %")
    if len(accs) >= 2:
        out.update(mean=statistics.mean(accs), std=statistics.stdev(accs))
        print(f"restated official: {out['mean']:.2f} ± {out['std']:.2f} % over {len(accs)} seeds")
        from dm_fidelity import seed_rows, welch_p

        ours = [a[args.iterations][0] for a in seed_rows(home).values() if args.iterations in a]
        if len(ours) >= 2:  # the engine's sets of benchmarks/dm_fidelity.py in the same home: the A/B
            out.update(ours_mean=statistics.mean(ours), ours_std=statistics.stdev(ours), welch_p=welch_p(accs, ours))
            ours_text = f"{out['ours_mean']:.2f} ± {out['ours_std']:.2f} % over {len(ours)} seeds"
            print(f"ours (dm_fidelity, same home): {ours_text}; Welch p = {out['welch_p']:.3f}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
