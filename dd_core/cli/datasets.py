"""``datasets`` (what is usable here, and the fix when not) and ``flops`` (fvcore counts, training compute)."""

from __future__ import annotations

import torch

from ..errors import ConfigError
from .common import (
    add_common,
    add_dataset,
    emit,
    load_real,
)


def add_parsers(sub) -> None:
    p = sub.add_parser("datasets", help="list datasets and whether they are usable here")
    add_common(p)
    p.add_argument("--data-path", default=None, help="folder to check for `mhist` / `folder`")

    p = sub.add_parser("flops", help="forward FLOPs per image (fvcore), parameters, training compute")
    add_common(p)
    add_dataset(p)
    p.add_argument("--net", default=None, help="network name (default: the dataset's ConvNet)")
    p.add_argument("--ipc", type=int, default=10, help="synthetic images per class for the compute comparison")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs for the compute comparison (default: the device's evaluation protocol)",
    )


def cmd_datasets(args) -> int:
    from ..data import DATASETS, dataset_status
    from ..paths import data_home

    rows = []
    for name in DATASETS:
        st = dataset_status(name, path=args.data_path if name in ("mhist", "folder") else None)
        rows.append({"name": st.name, "status": st.status, "detail": st.detail, "fix": st.fix})
    lines = [f"data home: {data_home(create=False)}  (set DD_HOME to change)"]
    for r in rows:
        lines.append(f"{r['name']:<14} {r['status']:<14} {r['detail']}")
        if r["fix"]:
            lines.append(f"{'':<14} fix: {r['fix']}")
    emit(args, "\n".join(lines), {"data_home": str(data_home(create=False)), "datasets": rows})
    return 0


def cmd_flops(args) -> int:
    from ..config import PROTOCOLS, default_protocol
    from ..data import dataset_info
    from ..flops import count_flops, training_flops
    from ..nets import default_net_for

    info = dataset_info(args.dataset)
    if info.get("num_classes") is None or info.get("train_size") is None:  # folder: known only once loaded
        meta_real = load_real(args, torch.device("cpu"))
        info = {
            **info,
            "num_classes": meta_real.meta.num_classes,
            "train_size": len(meta_real.train_labels),
            "image_size": meta_real.meta.image_size,
            "channels": meta_real.meta.channels,
        }
    size = args.image_size or info["image_size"]
    channels = args.channels or info["channels"]
    net = args.net or default_net_for(size)
    if args.ipc < 1:
        raise ConfigError(f"--ipc must be >= 1, got {args.ipc}", field="ipc")
    epochs = args.epochs or PROTOCOLS[default_protocol(torch.device("cpu"))]["epochs"]
    if epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {epochs}", field="epochs")
    f = count_flops(net, channels, info["num_classes"], size)
    n_train = info["train_size"]
    n_syn = args.ipc * info["num_classes"]
    whole = training_flops(f["flops_per_image"], n_train, epochs)
    syn = training_flops(f["flops_per_image"], n_syn, epochs)
    record = {
        "net": net,
        "dataset": args.dataset,
        "channels": channels,
        "image_size": size,
        "flops_per_image": f["flops_per_image"],
        "params": f["params"],
        "convention": f["convention"],
        "training": {
            "epochs": epochs,
            "ipc": args.ipc,
            "whole_dataset_images": n_train,
            "synthetic_images": n_syn,
            "whole_dataset_flops": whole,
            "synthetic_flops": syn,
            "ratio": whole / syn,
        },
    }
    human = (
        f"{net} on {args.dataset} ({channels}x{size}x{size}): {f['flops_per_image'] / 1e6:,.1f} MFLOPs "
        f"forward per image, {f['params']:,} parameters\n  convention: {f['convention']}\n"
        f"  training compute for {epochs} epochs (forward+backward ~ 3x forward): whole dataset "
        f"({n_train:,} images) {whole:.3e} FLOPs vs IPC {args.ipc} ({n_syn} images) {syn:.3e} FLOPs "
        f"= {whole / syn:,.0f}x less"
    )
    emit(args, human, record)
    return 0
