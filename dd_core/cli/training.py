"""``baseline`` (whole-dataset training) and ``evaluate`` (fresh nets trained on a set, tested on real data)."""

from __future__ import annotations

from ..errors import ConfigError
from .common import (
    add_common,
    add_dataset,
    add_eval,
    add_no_reference,
    csv_list,
    dataset_options,
    emit,
    eval_config_from,
    format_evals,
    record_run,
    report_cancelled,
)


def add_parsers(sub) -> None:
    p = sub.add_parser("baseline", help="train on the whole training set (upper bound)")
    add_common(p)
    add_dataset(p)
    p.add_argument("--net", default=None, help="network name (default: the dataset's ConvNet)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--dsa", action="store_true", help="augment training batches with DSA (off by default)")
    p.add_argument("--seed", type=int, default=0, help="random seed, 0 to 4294967295")

    p = sub.add_parser("evaluate", help="train fresh nets on a small set and test them on the real test set")
    add_common(p)
    add_dataset(p, default=None)
    p.add_argument("synthetic", nargs="?", default=None, help="a saved synthetic set (.pt)")
    p.add_argument("--random-real", action="store_true", help="evaluate IPC random real images per class")
    p.add_argument("--ipc", type=int, default=None)
    add_eval(p)
    add_no_reference(p)
    p.add_argument("--seed", type=int, default=0)


def cmd_baseline(args) -> int:
    from ..config import BaselineConfig
    from ..device import pick_device
    from ..spec import RunConfig

    options = {
        "epochs": args.epochs,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "batch_size": args.batch_size,
        "dsa": args.dsa,
        "seed": args.seed,
    }
    if args.net:
        options["net"] = args.net
    BaselineConfig(dataset=args.dataset, **options)  # validate before loading anything
    device = pick_device(args.device)
    cfg = RunConfig(
        kind="baseline",
        dataset=args.dataset,
        dataset_options=dataset_options(args),
        method=None,
        baseline=options,
        device=args.device,
    ).validate()
    rec = record_run(cfg, device)
    if rec.cancelled:
        return report_cancelled(args, rec, f"whole-dataset training on {args.dataset}")
    record = rec.record
    emit(
        args,
        f"{record['net']} on {record['dataset']}, {record['epochs']} epochs: test accuracy "
        f"{record['test_acc']:.4f} in {record['seconds']:.1f} s ({device})",
        record,
    )
    return 0


def cmd_evaluate(args) -> int:
    from ..device import pick_device
    from ..spec import RunConfig
    from ..synthetic import SyntheticSet

    device = pick_device(args.device)
    if args.random_real == (args.synthetic is not None):
        raise ConfigError(
            "give either a synthetic set file (SYN.pt) or --random-real --dataset D --ipc K", field="synthetic_path"
        )
    if args.random_real:
        if not args.dataset or args.ipc is None:
            raise ConfigError("--random-real needs --dataset and --ipc", field="ipc")
        method_options = {"ipc": args.ipc, "seed": args.seed}
    else:
        syn = SyntheticSet.load(args.synthetic)
        if args.dataset and args.dataset != syn.meta["dataset"]:
            raise ConfigError(
                f"{args.synthetic} was distilled from {syn.meta['dataset']!r}, not {args.dataset!r}", field="dataset"
            )
        args.dataset, method_options = syn.meta["dataset"], {"ipc": syn.ipc}
    ecfg = eval_config_from(args, device)
    cfg = RunConfig(
        kind="evaluate",
        dataset=args.dataset,
        dataset_options=dataset_options(args),
        method="random" if args.random_real else None,
        method_options=method_options,
        synthetic_path=args.synthetic,
        eval_nets=csv_list(args.nets),
        eval=ecfg.to_dict(),
        device=args.device,
        reference=not args.no_reference and not args.random_real,  # random real is its own reference
    ).validate()
    rec = record_run(cfg, device)
    if rec.cancelled:
        return report_cancelled(args, rec, f"the evaluation on {args.dataset}")
    record = rec.record
    emit(
        args,
        f"{record['source']} on {record['dataset']}, IPC {record['ipc']}:\n{format_evals(record['evals'])}"
        f"\n  ({record['seconds']:.1f} s)",
        record,
    )
    return 0
