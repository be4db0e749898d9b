"""Published (recalled) accuracies, as data with their source and protocol — shown BESIDE measured results, never
mixed into them. Accuracies in percent; ``ipc`` None = the whole training set.

Every entry is recalled from the cited paper (or the seed deck) rather than measured here; the dashboard labels them
"published" and prints the protocol next to them, because they come from other protocols (ConvNet-3, 1,000 epochs,
several models and distillation runs) than the CPU budgets used here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DM_SRC = "Zhao & Bilen, Dataset Condensation with Distribution Matching, WACV 2023"
DC_SRC = "Zhao, Mopuri & Bilen, Dataset Condensation with Gradient Matching, ICLR 2021, Table 1"
DAM_SRC = "Sajedi et al., DataDAM: Efficient Dataset Distillation with Attention Matching, ICCV 2023"
PAD_SRC = "Li et al., Prioritize Alignment in Dataset Distillation (PAD), 2024"
SEED_SRC = "seed deck (project brief)"

DM_PROTOCOL = "ConvNet-3; mean ± std over 5 distilled sets × 20 models; 1,000 training epochs"
DC_PROTOCOL = "ConvNet-3; DC paper protocol (mean ± std over repeated sets and trained models)"
DAM_PROTOCOL = "ConvNet-3; DataDAM's protocol (trained longer, 1,800 epochs in its tables)"
PAD_PROTOCOL = "ConvNet-3; PAD's protocol (soft labels, learned lr, ZCA on CIFAR-10)"
SEED_PROTOCOL = "best over checkpoints; IPC and protocol unstated"


@dataclass(frozen=True)
class Reference:
    method: str  # dm | random | herding | whole | am | pad
    dataset: str  # mnist | fashion-mnist | cifar10
    ipc: int | None  # None: whole training set (or unstated for the seed deck)
    acc: float  # percent
    source: str
    protocol: str
    net: str = "convnet-3"
    std: float | None = None
    note: str = ""
    kind: str = "published"  # published | recalled (seed deck)

    def to_dict(self) -> dict:
        return asdict(self)


def _series(method: str, dataset: str, accs: tuple, source: str, protocol: str, ipcs=(1, 10, 50)) -> list[Reference]:
    return [Reference(method, dataset, ipc, acc, source, protocol) for ipc, acc in zip(ipcs, accs, strict=False)]


REFERENCES: list[Reference] = [
    *_series("dm", "mnist", (89.7, 97.5, 98.6), DM_SRC, DM_PROTOCOL),
    *_series("dm", "fashion-mnist", (70.5, 83.6, 88.2), DM_SRC, DM_PROTOCOL),
    *_series("dm", "cifar10", (26.0, 48.9, 63.0), DM_SRC, DM_PROTOCOL),
    *_series("random", "mnist", (64.9, 95.1, 97.9), DC_SRC, DC_PROTOCOL),
    *_series("random", "fashion-mnist", (51.4, 73.8, 82.5), DC_SRC, DC_PROTOCOL),
    *_series("random", "cifar10", (14.4, 26.0, 43.4), DC_SRC, DC_PROTOCOL),
    *_series("herding", "mnist", (89.2, 93.7, 94.8), DC_SRC, DC_PROTOCOL),
    *_series("herding", "fashion-mnist", (67.0, 71.1, 71.9), DC_SRC, DC_PROTOCOL),
    *_series("herding", "cifar10", (21.5, 31.6, 40.4), DC_SRC, DC_PROTOCOL),
    Reference("whole", "mnist", None, 99.6, DC_SRC, DC_PROTOCOL + "; whole training set"),
    Reference("whole", "fashion-mnist", None, 93.5, DC_SRC, DC_PROTOCOL + "; whole training set"),
    Reference("whole", "cifar10", None, 84.8, DC_SRC, DC_PROTOCOL + "; whole training set"),
    *_series("am", "cifar10", (32.0, 54.2, 67.0), DAM_SRC, DAM_PROTOCOL),
    *_series("pad", "cifar10", (47.2, 67.4, 77.0), PAD_SRC, PAD_PROTOCOL),
    Reference("pad", "mnist", None, 51.3, SEED_SRC, SEED_PROTOCOL, note="init: Gaussian noise", kind="recalled"),
    Reference(
        "pad", "mnist", None, 95.9, SEED_SRC, SEED_PROTOCOL, note="init: correctly predicted samples", kind="recalled"
    ),
]


# datasets measured here that the published numbers stand for (with what differs)
DATASET_ALIASES = {"mnist-5k": ("mnist", "published on full MNIST (60k train / 10k test); mnist-5k has 4k / 1k")}


def references(
    dataset: str | None = None, ipc: int | None = None, method: str | None = None, *, include_whole: bool = True
) -> list[Reference]:
    """Entries for ``dataset`` (``mnist-5k`` maps to ``mnist``), an ``ipc`` (whole-dataset and unstated-IPC entries
    included unless ``include_whole`` is False) and a ``method``; None matches anything."""
    if dataset in DATASET_ALIASES:
        dataset = DATASET_ALIASES[dataset][0]
    out = []
    for r in REFERENCES:
        if dataset is not None and r.dataset != dataset:
            continue
        if method is not None and r.method != method:
            continue
        if ipc is not None and r.ipc is not None and r.ipc != ipc:
            continue
        if r.ipc is None and not include_whole:
            continue
        out.append(r)
    return out


def alias_note(dataset: str) -> str:
    """How published numbers relate to ``dataset`` ('' when they are on that very dataset)."""
    return DATASET_ALIASES.get(dataset, (None, ""))[1]
