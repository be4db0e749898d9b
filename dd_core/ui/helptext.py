"""Short help texts of the dashboard's widgets. Where the papers and their code disagree they say which choice
DistillLab makes (docs/algorithms.md §8)."""

from __future__ import annotations

# The label each form shows for a field (and the name every message uses for it): engine field names are code,
# never shown. Distill form: the method config's fields and the run's schedule / evaluation fields.
LABELS: dict[str, str] = {
    # synthetic set
    "ipc": "Images per class (IPC)",
    "init": "Initialisation",
    "net": "Network",
    "seed": "Seed",
    "dsa": "DSA augmentation",
    "dsa_strategy": "DSA transforms",
    # DM / AM
    "lr_img": "Image learning rate",
    "momentum": "Image momentum",
    "batch_real": "Real images per class per iteration",
    "chunk": "Real-forward chunk size",
    "power": "Attention power p",
    "task_balance": "Embedding weight λ",
    "loss_weight": "Loss weight",
    # herding
    "feature_epochs": "Feature-net epochs",
    "feature_train_size": "Feature-net training images",
    "pool": "Candidates per class",
    # PAD
    "experts": "Experts",
    "trajectory_epochs": "Epochs per expert",
    "expert_lr": "Expert learning rate",
    "scheduler": "Difficulty scheduler",
    "init_ratio": "Initial easy fraction",
    "add_end_epoch": "All samples in by epoch",
    "rm_epoch_first": "First removal epoch",
    "rm_epoch_second": "Second removal epoch",
    "rm_easy_ratio_first": "First removal fraction",
    "rm_easy_ratio_second": "Second removal fraction",
    "score": "Difficulty score",
    "score_models": "Scoring networks",
    "score_epochs": "Scoring epochs",
    "experts_path": "Experts folder",
    "syn_steps": "Student steps N",
    "expert_epochs": "Expert epochs M",
    "min_start_epoch": "Min start epoch",
    "current_max_start_epoch": "Initial max start epoch",
    "max_start_epoch": "Max start epoch",
    "expansion_end": "Window growth iterations",
    "sequential": "Sequential generation",
    "batch_syn": "Synthetic images per student step",
    "momentum_img": "Image momentum",
    "lr_lr": "Step-size learning rate",
    "lr_y": "Soft-label learning rate",
    "momentum_y": "Soft-label momentum",
    "threshold": "Loss threshold",
    "depth_ratio": "Shallow fraction left out",
    "masking": "Masking",
    "max_memory_fraction": "Max memory fraction",
    # the run
    "dataset": "Dataset",
    "method": "Method",
    "preset": "Preset",
    "iterations": "Iterations",
    "eval_at": "Evaluate at",
    "eval_nets": "Evaluation nets",
    "protocol": "Protocol",
    "eval_epochs": "Evaluation epochs",
    "eval_models": "Evaluation models",
    "reference": "Random-real reference",
}

# Baseline form: BaselineConfig's fields.
BASELINE_LABELS: dict[str, str] = {
    "dataset": "Dataset",
    "net": "Network",
    "epochs": "Epochs",
    "lr": "Learning rate",
    "momentum": "Momentum",
    "weight_decay": "Weight decay",
    "batch_size": "Batch size",
    "dsa": "DSA augmentation",
    "seed": "Seed",
}

_L = LABELS

HELP: dict[str, str] = {
    # synthetic set
    "ipc": "Synthetic images per class (IPC). The papers report IPC 1, 10 and 50.",
    "init": "How the synthetic images start: **real** = random real training images of the class; **noise** = "
    "standard normal (Gaussian) noise; **correct** (PAD) = real images that an expert network classifies "
    "correctly (the seed deck's best PAD setting).",
    "net": "The network the method distills with. *auto* = ConvNet-3 up to 32 px, ConvNet-4 at 64 px, ConvNet-7 at "
    "128 px (docs/algorithms.md §1). A `-bn` suffix (e.g. convnet-3-bn) uses batch norm.",
    "seed": "Random seed of the initial set, the random networks and the real batches: a run is repeatable on the "
    "same device.",
    "preset": "Fills the fields below (edit any of them after): **cpu-demo** = a live demo sized for a 2-core CPU on "
    "`mnist-5k` at 1 image per class from noise, where distillation visibly beats random real images (DM/AM ≈ 1.5 "
    "min including the evaluation and the random-real reference; PAD ≈ 5 min, ≈ 3 min with its experts cached), "
    "**cpu-ipc10** = the same budget at 10 images per class (what papers report; random real images are already "
    "strong there), **paper** = the papers' settings (GPU-sized), **none** = each method's own defaults. The command "
    "line's `distill` command has the same presets. Changing it resets the edited fields.",
    "iterations": "Outer iterations (one update of the synthetic set each). The papers use 20,000; on a 2-core CPU "
    "a few hundred already show the effect.",
    # DSA
    "dsa": "Differentiable siamese augmentation (docs/algorithms.md §2): within an iteration a class's real and "
    "synthetic batches get the same random transform (one of the strategy's, 'single' mode).",
    "dsa_strategy": "Transforms to draw from, joined by `_` (color, crop, cutout, flip, scale, rotate). Empty = the "
    "dataset's strategy (digits: no flip — a flipped 2 is not a 2).",
    # DM / AM
    "lr_img": "SGD learning rate on the synthetic pixels. DM: 1 for IPC ≤ 50 (10 above); DataDAM: 1 for "
    "IPC 1/10/50 (tuned for p = 1).",
    "momentum": "Momentum of the pixel optimiser (papers: 0.5).",
    "batch_real": "Real images per class per iteration. DM: 256. DataDAM: 64 (its official script; the paper's "
    "table uses 128–256 on large sets). On a CPU, 64 is ~4× faster than 256.",
    "chunk": "Real-side forward in chunks of this many images: −1 = the size measured fastest on this device, "
    "0 = one batch (always one batch for batch-norm nets, whose statistics need the whole batch).",
    "power": "p in Σ_channels |A|^p, the spatial attention of a block. Default **1** = DataDAM's official code, "
    "which produced its numbers (an image learning rate of 1 is tuned for it); the paper's table says **p = 4** "
    "and the paper "
    "discusses p > 1 (docs/algorithms.md §8.2).",
    "task_balance": "λ, weight of the embedding (MMD) term relative to the attention term (official: 0.01).",
    "loss_weight": "Both DataDAM terms are multiplied by this factor (official: 100).",
    # herding
    "feature_epochs": "Epochs of training the feature ConvNet on real data before herding (0 = a random net).",
    "feature_train_size": "Stratified real training subset used for that training (0 = the whole training set).",
    "pool": "Candidate images per class herding chooses from (0 = every training image of the class).",
    # PAD (docs/algorithms.md §6)
    "experts": "Expert trajectories trained on the real data (PAD/MTT: several; each iteration matches one).",
    "trajectory_epochs": "Epochs each expert is trained, saving its parameters after every epoch (official: 100).",
    "expert_lr": "The experts' SGD learning rate (the official code's teacher learning rate, no momentum); also "
    "the initial learnable step α.",
    "scheduler": f"PAD's difficulty scheduler: experts start on the easiest part of the data (**{_L['init_ratio']}**), "
    f"add harder samples until **{_L['add_end_epoch']}** and drop the easiest later (off: plain MTT experts).",
    "init_ratio": "Fraction of the easiest samples each expert starts with (official: 0.75).",
    "add_end_epoch": "Epoch by which all samples are in (−1: the official 20 of 100 epochs, scaled).",
    "rm_epoch_first": f"Epoch at which the easiest **{_L['rm_easy_ratio_first']}** of the samples is dropped (−1: "
    "official 40/100, scaled).",
    "rm_epoch_second": f"Epoch at which the easiest **{_L['rm_easy_ratio_second']}** of the samples is dropped (−1: "
    "official 60/100, scaled).",
    "rm_easy_ratio_first": f"Fraction of the easiest samples removed at **{_L['rm_epoch_first']}** (official: 0.1).",
    "rm_easy_ratio_second": f"Fraction of the easiest samples removed at **{_L['rm_epoch_second']}** (official: 0.2).",
    "score": "Difficulty score: EL2N (default, cheap: ‖softmax − onehot‖ over briefly trained nets) or GraNd "
    "(docs/algorithms.md §8.5).",
    "score_models": "Networks averaged for the difficulty score.",
    "score_epochs": "Epochs those networks are trained before scoring.",
    "experts_path": "Reuse experts saved in this folder (checked against the run's dataset and net); empty: train "
    "them in the run.",
    "syn_steps": "N: student SGD steps on the synthetic set per iteration, kept in the graph (memory grows with "
    "N × batch).",
    "expert_epochs": "M: the target is the expert M epochs after the start epoch.",
    "min_start_epoch": "Smallest start epoch t sampled on the expert trajectory.",
    "current_max_start_epoch": f"Upper bound of the start epoch at iteration 0 (grows to **{_L['max_start_epoch']}**).",
    "max_start_epoch": "Upper bound of the start epoch once the window has grown (sequential generation).",
    "expansion_end": "Iterations over which the start-epoch window grows.",
    "sequential": "Sequential generation: the start-epoch window grows linearly (PAD default).",
    "batch_syn": "Synthetic images per student step (0 = the whole synthetic set).",
    "momentum_img": "Momentum of the pixel optimiser (official: 0.5).",
    "lr_lr": "Learning rate of the learnable step size α (official: 1e-5).",
    "lr_y": "Learning rate of the soft labels (official: 2).",
    "momentum_y": "Momentum of the soft-label optimiser (official: 0.9).",
    "threshold": "Skip the update when the normalised matching loss exceeds this (official: 1.0).",
    "depth_ratio": "Fraction of the parameter vector (shallow layers first) left out of the matching loss; −1 = by "
    "IPC (0 at IPC 1, 0.5 up to 10, 0.25 above: the CIFAR-10 configs; docs/algorithms.md §8.4).",
    "masking": f"**depth** (default): drop the shallow **{_L['depth_ratio']}** of the parameters; **loss**: drop "
    "the entries "
    "with the smallest loss (the official code's realisation).",
    "max_memory_fraction": "Refuse settings whose unrolled graph would need more than this fraction of memory.",
    # evaluation
    "eval_at": "When to evaluate: `0,500,1000`, `final`, `every:N` or `none`. 0 evaluates the initial set. Reported "
    "accuracy is that of the set at that iteration, never the best over checkpoints (docs/algorithms.md §8.3).",
    "eval_nets": "Architectures trained on the synthetic set (empty = the distillation net). Other nets measure "
    "cross-architecture generalisation.",
    "protocol": "**paper** = 1,000 epochs × 5 fresh models; **quick** = 300 epochs × 2 models; same SGD (lr 0.01, "
    "momentum 0.9, ×0.1 at half), DSA on (docs/algorithms.md §3). Default: quick on CPU, paper on GPU. "
    "Other epochs/models make it *custom*; every result records what it used.",
    "eval_epochs": "Training epochs of each evaluation model (lr × 0.1 at half).",
    "eval_models": "Fresh models trained per architecture; the result is their mean ± std.",
    "reference": "Also trains 3 random real subsets of the same IPC under exactly this evaluation (same nets, "
    "epochs and models), so every result reads *distilled vs random real*: the gain in points is what distillation "
    "adds over simply keeping IPC real images. Computed once per dataset, IPC, net and evaluation settings, then "
    "cached. Off (like the command line's no-reference option) saves that time but leaves the accuracy without "
    "its floor.",
    # baseline
    "baseline_net": "Network trained on the whole training set (seed: ConvNet-3 on MNIST, ConvNet-7 on MHIST).",
    "baseline_epochs": "Epochs over the whole training set (seed: 20).",
    "baseline_lr": "SGD learning rate, annealed with a cosine over all steps (seed: 0.01).",
    "baseline_momentum": "SGD momentum (seed: 0.9).",
    "baseline_weight_decay": "L2 weight decay (seed: 0).",
    "baseline_batch_size": "Mini-batch size (seed: 256).",
    "baseline_dsa": "Augment every batch with DSA (independent per image). The seed baseline trains without it.",
}


def help_for(name: str, method: str | None = None) -> str | None:
    if method == "am" and name == "net":
        return HELP["net"] + " DataDAM's official script uses batch norm; DistillLab defaults to instance norm."
    return HELP.get(name)
