"""``experts``: train (or load cached) expert trajectories for PAD."""

from __future__ import annotations

from pathlib import Path

from .common import (
    add_common,
    add_dataset,
    check_out_dir,
    dataset_options,
    emit,
    record_run,
    report_cancelled,
)


def add_parsers(sub) -> None:
    p = sub.add_parser("experts", help="train (or load cached) expert trajectories for PAD / trajectory matching")
    add_common(p)
    add_dataset(p)
    p.add_argument("--net", default=None, help="network (default: the dataset's ConvNet)")
    p.add_argument("--experts", type=int, default=5, help="number of expert trajectories")
    p.add_argument("--epochs", type=int, default=20, help="epochs per expert (official PAD: 100)")
    p.add_argument("--lr", type=float, default=0.01, help="expert SGD learning rate (lr_teacher)")
    p.add_argument("--no-scheduler", action="store_true", help="plain MTT experts on all data")
    p.add_argument("--init-ratio", type=float, default=0.75)
    p.add_argument("--add-end-epoch", type=int, default=-1, help="-1: 20%% of --epochs (official 20 of 100)")
    p.add_argument("--rm-epoch-first", type=int, default=-1, help="-1: 40%% of --epochs")
    p.add_argument("--rm-epoch-second", type=int, default=-1, help="-1: 60%% of --epochs")
    p.add_argument("--rm-easy-first", type=float, default=0.1)
    p.add_argument("--rm-easy-second", type=float, default=0.2)
    p.add_argument("--score", choices=["el2n", "grand"], default="el2n", help="difficulty score")
    p.add_argument("--score-models", type=int, default=2)
    p.add_argument("--score-epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for the trajectories (default: the cache in the data home)")


def cmd_experts(args) -> int:
    from ..device import pick_device
    from ..spec import RunConfig

    opts = {
        "experts": args.experts,
        "trajectory_epochs": args.epochs,
        "expert_lr": args.lr,
        "scheduler": not args.no_scheduler,
        "init_ratio": args.init_ratio,
        "add_end_epoch": args.add_end_epoch,
        "rm_epoch_first": args.rm_epoch_first,
        "rm_epoch_second": args.rm_epoch_second,
        "rm_easy_ratio_first": args.rm_easy_first,
        "rm_easy_ratio_second": args.rm_easy_second,
        "score": args.score,
        "score_models": args.score_models,
        "score_epochs": args.score_epochs,
        "seed": args.seed,
        "experts_path": args.out,
    }
    if args.net:
        opts["net"] = args.net
    device = pick_device(args.device)
    cfg = RunConfig(
        kind="experts",
        dataset=args.dataset,
        dataset_options=dataset_options(args),
        method="pad",
        method_options=opts,
        device=args.device,
    ).validate()
    if args.out:
        check_out_dir(Path(args.out), field="experts_path")
    rec = record_run(cfg, device)
    if rec.cancelled:
        return report_cancelled(args, rec, f"building experts on {args.dataset}")
    record = rec.record
    spe = record["seconds_per_expert_epoch"]
    emit(
        args,
        f"{record['count']} experts ({record['net']} on {record['dataset']}, {record['epochs']} epochs, "
        f"scheduler {'on' if record['scheduler'] else 'off'}) in {record['folder']}: {record['built']} built, "
        f"{record['cached']} cached, {record['seconds']:.1f} s" + (f" ({spe:.2f} s per expert epoch)" if spe else ""),
        record,
    )
    return 0
