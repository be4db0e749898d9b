"""The CLI: --json last line with the documented keys, readable errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import last_json, run_cli


def test_datasets_lists_all_and_exits_zero(capsys):
    code, out, _ = run_cli(capsys, "datasets", "--json")
    assert code == 0
    names = [d["name"] for d in last_json(out)["datasets"]]
    assert names == ["mnist", "mnist-5k", "fashion-mnist", "cifar10", "mhist", "folder"]
    statuses = {d["name"]: d["status"] for d in last_json(out)["datasets"]}
    assert statuses["mnist-5k"] == "available" and statuses["mhist"] == "missing"


def test_flops_json(capsys):
    code, out, _ = run_cli(capsys, "flops", "--net", "convnet-3", "--dataset", "mnist-5k", "--json")
    rec = last_json(out)
    assert code == 0 and {"net", "dataset", "flops_per_image", "params"} <= set(rec)
    assert abs(rec["flops_per_image"] / 49.2e6 - 1) < 0.01
    assert "1 multiply-add = 1 FLOP" in rec["convention"]
    assert rec["training"]["whole_dataset_flops"] > rec["training"]["synthetic_flops"]


def test_baseline_json(capsys, tiny_fashion):
    code, out, _ = run_cli(
        capsys, "baseline", "--dataset", "fashion-mnist", "--net", "convnet-2", "--epochs", "3", "--json"
    )
    rec = last_json(out)
    assert code == 0 and {"dataset", "net", "epochs", "test_acc", "seconds"} <= set(rec)
    assert 0 <= rec["test_acc"] <= 1 and len(rec["curve"]) == 3


def test_evaluate_random_real_json(capsys, tiny_fashion):
    code, out, _ = run_cli(
        capsys,
        "evaluate",
        "--random-real",
        "--dataset",
        "fashion-mnist",
        "--ipc",
        "2",
        "--nets",
        "convnet-2,mlp",
        "--epochs",
        "5",
        "--models",
        "2",
        "--json",
    )
    rec = last_json(out)
    assert code == 0 and {"dataset", "ipc", "protocol", "evals", "seconds"} <= set(rec)
    assert [e["net"] for e in rec["evals"]] == ["convnet-2", "mlp"]
    for e in rec["evals"]:
        assert {"net", "acc_mean", "acc_std", "n_models", "epochs"} <= set(e) and e["n_models"] == 2


def test_distill_json_and_evaluate_saved_set(capsys, tiny_fashion, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "distill",
        "--method",
        "dm",
        "--dataset",
        "fashion-mnist",
        "--ipc",
        "2",
        "--iterations",
        "4",
        "--net",
        "convnet-2",
        "--batch-real",
        "8",
        "--eval-at",
        "0,4",
        "--eval-epochs",
        "3",
        "--eval-models",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--json",
    )
    rec = last_json(out)
    assert code == 0
    assert {
        "method",
        "dataset",
        "ipc",
        "iterations",
        "init",
        "seconds_distill",
        "seconds_per_iteration",
        "evals",
        "synthetic_path",
    } <= set(rec)
    assert [e["iteration"] for e in rec["evals"]] == [0, 4] and rec["iterations"] == 4
    assert (tmp_path / "run" / "png" / "all.png").exists()
    code, out, _ = run_cli(
        capsys, "evaluate", rec["synthetic_path"], "--nets", "convnet-2", "--epochs", "2", "--models", "1", "--json"
    )
    assert code == 0 and last_json(out)["evals"][0]["net"] == "convnet-2"


def test_preset_fills_unset_and_flags_override(capsys, tiny_fashion, tmp_path):
    from dd_core.cli import build_parser
    from dd_core.cli.distill import resolve

    args = build_parser().parse_args(["distill", "--method", "dm", "--preset", "cpu-demo", "--ipc", "3"])
    run, method = resolve(args)
    assert run["dataset"] == "mnist-5k" and method["ipc"] == 3 and method["batch_real"] == 64


@pytest.mark.parametrize(
    "argv, message",
    [
        (["baseline", "--dataset", "nope"], "choose one of"),
        (["baseline", "--net", "nonet"], "nonet"),
        (["baseline", "--epochs", "0"], "epochs"),
        (["baseline", "--lr", "-0.1"], "learning rate"),
        (["evaluate", "--random-real", "--dataset", "mnist-5k", "--ipc", "100000"], "larger than class"),
        (["distill", "--method", "dm", "--ipc", "0", "--iterations", "1"], "IPC"),
        (["distill", "--method", "xx"], "unknown method"),
        (["distill", "--method", "dm", "--iterations", "10", "--eval-at", "20"], "outside the run"),
        (["distill", "--method", "dm", "--iterations", "-1"], "iterations"),
        (["distill", "--method", "dm", "--lr-img", "0", "--iterations", "1"], "lr_img"),
        (["evaluate", "missing.pt"], "no such file"),
    ],
)
def test_bad_input_is_one_readable_line(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_subprocess_exit_code_and_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "dd_core", "baseline", "--dataset", "nope"],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "mnist-5k" in proc.stderr


def test_bench_json(capsys, tiny_fashion):
    code, out, _ = run_cli(
        capsys,
        "bench",
        "--dataset",
        "fashion-mnist",
        "--methods",
        "dm,am",
        "--batch-real",
        "8",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--eval-epochs",
        "1",
        "--json",
    )
    rec = last_json(out)
    assert code == 0 and {
        "device",
        "threads",
        "dataset",
        "ipc",
        "batch_real",
        "chunk",
        "results",
        "eval_seconds",
    } <= set(rec)
    for r in rec["results"]:
        assert {"method", "seconds_per_iteration", "bare_seconds", "overhead", "peak_rss_mb"} <= set(r)
        assert r["overhead"] > 0


def test_experts_and_pad_distill(capsys, tiny_fashion, tmp_path):
    common = ["--dataset", "fashion-mnist", "--net", "convnet-2"]
    code, out, _ = run_cli(
        capsys,
        "experts",
        *common,
        "--experts",
        "1",
        "--epochs",
        "3",
        "--score-models",
        "1",
        "--score-epochs",
        "1",
        "--json",
    )
    rec = last_json(out)
    assert code == 0 and rec["built"] == 1 and rec["epochs"] == 3
    opts = [
        "experts=1",
        "trajectory_epochs=3",
        "score_models=1",
        "score_epochs=1",
        "syn_steps=2",
        "expert_epochs=1",
        "current_max_start_epoch=1",
        "max_start_epoch=2",
        "expansion_end=2",
    ]
    code, out, err = run_cli(
        capsys,
        "distill",
        "--method",
        "pad",
        *common,
        "--ipc",
        "1",
        "--iterations",
        "2",
        "--eval-epochs",
        "2",
        "--eval-models",
        "1",
        *[a for o in opts for a in ("--option", o)],
        "--out",
        str(tmp_path / "pad"),
        "--json",
    )
    rec = last_json(out)
    assert code == 0 and rec["experts"]["cached"] == 1 and rec["experts"]["built"] == 0
    assert rec["learned_lr"] > 0 and rec["iterations"] == 2
    code, out, err = run_cli(
        capsys,
        "distill",
        "--method",
        "pad",
        *common,
        "--ipc",
        "1",
        "--iterations",
        "2",
        "--option",
        "max_start_epoch=5",
        "--option",
        "current_max_start_epoch=1",
        "--option",
        "trajectory_epochs=3",
    )
    assert code == 2 and "beyond the trajectories" in err


def store_runs() -> list[dict]:
    from dd_core.runs.store import RunStore

    return RunStore().list_runs()


# keeps a run short where a check is missing (the test then fails quickly instead of training for minutes)
CHEAP = {
    "distill": ["--iterations", "0", "--eval-at", "none", "--net", "convnet-1"],
    "baseline": ["--epochs", "1", "--net", "convnet-1"],
    "evaluate": ["--epochs", "1", "--models", "1", "--nets", "convnet-1"],
    "experts": ["--experts", "1", "--epochs", "2", "--score-models", "1", "--score-epochs", "1", "--net", "convnet-1"],
}


@pytest.mark.parametrize(
    "argv, flag, message",
    [
        (["distill", "--method", "dm", "--lr-img", "inf"], "--lr-img", "lr_img' must be a finite number, got inf"),
        (["distill", "--method", "dm", "--lr-img", "nan"], "--lr-img", "finite"),
        (
            ["distill", "--method", "am", "--option", "power=abc"],
            "--option power",
            "'power' must be a number, got 'abc'",
        ),
        (["distill", "--method", "dm", "--option", "momentum=abc"], "--option momentum", "'momentum' must be a number"),
        (["distill", "--method", "dm", "--option", "chunk=abc"], "--option chunk", "'chunk' must be a whole number"),
        (["distill", "--method", "dm", "--option", "chunk=2.5"], "--option chunk", "whole number, got '2.5'"),
        (["distill", "--method", "dm", "--option", "dsa=maybe"], "--option dsa", "true or false"),
        (["distill", "--method", "pad", "--option", "masking=x"], "--option masking", "choose one of: depth, loss"),
        (["distill", "--method", "dm", "--ipc", "abc"], "--ipc", "whole number, got 'abc'"),
        (["distill", "--method", "dm", "--ipc", "0"], "--ipc", "IPC must be a whole number >= 1"),
        (["distill", "--method", "dm", "--batch-real", "1.5"], "--batch-real", "whole number"),
        (["distill", "--method", "dm", "--device", "foo"], "--device", "'foo'; choose one of: cpu, cuda, cuda:N"),
        (["distill", "--method", "dm", "--device", "cuda:7"], "--device", "'cuda:7'"),
        (["distill", "--method", "dm", "--seed", "-1"], "--seed", "from 0 to"),
        (["distill", "--method", "dm", "--seed", str(2**64)], "--seed", "from 0 to"),
        (["distill", "--method", "dm", "--seed", "x"], "--seed", "whole number"),
        (["baseline", "--seed", "-1"], "--seed", "from 0 to"),
        (["baseline", "--lr", "nan"], "--lr", "finite"),
        (["baseline", "--momentum", "inf"], "--momentum", "finite"),
        (["baseline", "--device", "foo"], "--device", "cpu, cuda, cuda:N"),
        (["evaluate", "--random-real", "--dataset", "mnist-5k", "--ipc", "0"], "--ipc", "IPC"),
        (["evaluate", "--random-real", "--dataset", "mnist-5k", "--ipc", "2", "--seed", "-1"], "--seed", "0 to"),
        (["experts", "--seed", str(2**63)], "--seed", "from 0 to"),
        (["experts", "--lr", "inf"], "--lr", "finite"),
    ],
)
def test_refused_before_any_work_naming_the_flag(capsys, argv, flag, message):
    code, _, err = run_cli(capsys, argv[0], *CHEAP[argv[0]], *argv[1:])
    assert code == 2 and err.startswith(f"error: {flag}") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert store_runs() == []  # nothing was recorded: no work started


def test_out_under_a_regular_file_fails_at_once(capsys, tmp_path):
    """(CI runs as root, where chmod does not stop writes: a path below a regular file cannot be created.)"""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for argv in (
        ["distill", "--method", "dm", "--out", str(blocker / "out")],
        ["experts", "--out", str(blocker / "experts")],
    ):
        code, _, err = run_cli(capsys, argv[0], *CHEAP[argv[0]], *argv[1:])
        assert code == 2 and err.startswith("error: --out: ") and str(blocker / argv[-1].rsplit("/", 1)[1]) in err
        assert store_runs() == []


def test_out_folder_is_created_before_work(capsys, tmp_path, monkeypatch):
    from dd_core.cli import distill

    class Reached(Exception):
        pass

    def stub(cfg, device, out_dir=None):
        assert out_dir.is_dir()
        raise Reached

    monkeypatch.setattr(distill, "record_run", stub)
    out = tmp_path / "a" / "b" / "c"
    with pytest.raises(Reached):
        distill.cmd_distill(build_args("distill", "--method", "dm", "--iterations", "1", "--out", str(out)))
    assert out.is_dir()


def build_args(*argv: str):
    from dd_core.cli import build_parser

    return build_parser().parse_args(list(argv))


def test_field_to_flag_translation():
    from dd_core.cli.common import cli_message
    from dd_core.errors import ConfigError, DatasetError

    assert cli_message(ConfigError("lr_img must be > 0", field="lr_img"), "distill") == "--lr-img: lr_img must be > 0"
    assert cli_message(ConfigError("x", field="batch_real"), "distill") == "--batch-real: x"
    assert cli_message(ConfigError("x", field="power"), "distill") == "--option power=...: x"
    assert cli_message(ConfigError("x", field="lr"), "baseline") == "--lr: x"
    assert cli_message(ConfigError("x", field="trajectory_epochs"), "experts") == "--epochs: x"
    assert cli_message(ConfigError("x", field="max_start_epoch"), "experts") == "x"
    assert cli_message(ConfigError("--ipc must be >= 1", field="ipc"), "flops") == "--ipc must be >= 1"
    assert cli_message(ConfigError("x"), "distill") == "x"
    assert cli_message(DatasetError("missing"), "distill") == "missing"


def test_every_translated_flag_exists():
    import argparse

    from dd_core.cli import build_parser
    from dd_core.cli.common import COMMAND_FLAGS, FIELD_FLAGS

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {name: set(p._option_string_actions) for name, p in sub.choices.items()}
    for command, table in COMMAND_FLAGS.items():
        for flag in table.values():
            assert flag == "SYNTHETIC" or flag in flags[command], (command, flag)
    for flag in FIELD_FLAGS.values():
        assert any(flag in f for f in flags.values()), flag
