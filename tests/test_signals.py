"""SIGINT / SIGTERM on a CLI run: the job stops cooperatively, keeps its last complete synthetic set (in --out and
the run folder), the run is recorded 'cancelled', and the CLI says where the set is and exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dd_core.runs.store import RunStore
from tests.helpers import write_learnable_fashion

ROOT = Path(__file__).resolve().parents[1]


class CliProcess:
    """``python -m dd_core ARGS`` in a subprocess on the tiny Fashion-MNIST; its output drained by threads."""

    def __init__(self, tmp_path: Path, *args: str):
        folder = write_learnable_fashion(tmp_path / "fashion")
        env = {**os.environ, "DD_FASHION_MNIST_DIR": str(folder), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dd_core", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=lambda lines=lines, pipe=pipe: lines.extend(pipe), daemon=True)
            for lines, pipe in ((self.stdout, self.proc.stdout), (self.stderr, self.proc.stderr))
        ]
        for t in self._readers:
            t.start()

    def wait_for_progress(self, at_least: int, timeout: float = 180.0) -> dict:
        """Block until the run in the store has done ``at_least`` iterations (epochs); return it."""
        store, deadline = RunStore(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"exited early ({self.proc.returncode}): {''.join(self.stderr)}"
            runs = store.list_runs()
            if runs and (runs[0]["iteration"] or 0) >= at_least:
                return runs[0]
            time.sleep(0.2)
        self.proc.kill()
        raise AssertionError(f"no progress in {timeout} s: {''.join(self.stderr)}")

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for t in self._readers:
            t.join(timeout=5)
        return self.proc.returncode, "".join(self.stdout), "".join(self.stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_distill_and_keeps_the_last_set(tmp_path, sig):
    from dd_core.synthetic import SyntheticSet

    out = tmp_path / "out"
    cli = CliProcess(
        tmp_path,
        "distill",
        *("--method", "dm", "--dataset", "fashion-mnist", "--ipc", "2", "--net", "convnet-2"),
        *("--batch-real", "8", "--iterations", "100000", "--eval-at", "none", "--out", str(out), "--json"),
    )
    cli.wait_for_progress(3)
    cli.proc.send_signal(sig)
    code, stdout, stderr = cli.finish()

    assert code == 130, stderr
    assert "Traceback" not in stderr and sig.name in stderr
    result = json.loads((out / "result.json").read_text())
    assert result["stopped"] is True and 3 <= result["iterations"] < 100000
    assert json.loads(stdout.strip().splitlines()[-1]) == result
    assert str(out / "synthetic.pt") in stdout and "cancelled" in stdout
    syn = SyntheticSet.load(out / "synthetic.pt")
    assert syn.meta["iteration"] == result["iterations"] and syn.images.shape[0] == 20
    assert (out / "png" / "all.png").exists()

    store = RunStore()
    (run,) = store.list_runs()
    assert run["status"] == "cancelled" and run["error"] is None and run["source"] == "cli"
    assert run["summary"]["stopped"] is True and run["summary"]["synthetic_path"] == str(out / "synthetic.pt")
    last = store.snapshots(run["id"])[-1]  # the run folder holds the same last set
    assert last["iteration"] == result["iterations"]
    assert SyntheticSet.load(store.artifacts_dir(run["id"]) / last["path"]).meta["iteration"] == result["iterations"]


def test_sigterm_cancels_baseline(tmp_path):
    cli = CliProcess(
        tmp_path, "baseline", "--dataset", "fashion-mnist", "--net", "convnet-1", "--epochs", "100000", "--json"
    )
    cli.wait_for_progress(1)
    cli.proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = cli.finish()
    assert code == 130 and "Traceback" not in stderr, stderr
    assert "cancelled by SIGTERM" in stdout
    (run,) = RunStore().list_runs()
    assert run["status"] == "cancelled" and run["error"] is None


def test_second_signal_aborts_and_handlers_are_restored():
    from dd_core.cli.common import StopSignals

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert signal.getsignal(signal.SIGINT) == stop.handle == signal.getsignal(signal.SIGTERM)
        stop.handle(signal.SIGTERM)
        assert stop.event.is_set() and stop.received == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            stop.handle(signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_the_stop_flag_cancels_the_recorded_run_and_nothing_else(tiny_fashion):
    """``run_recorded(..., should_stop=flag)``: the CLI's signal flag stops its own run (recorded ``cancelled``, its
    set kept); another run in the store is untouched and no cancel request is written from a signal handler."""
    import torch

    from dd_core.runs.worker import run_recorded
    from tests.app_support import tiny_run

    store = RunStore()
    other = store.create_run("distill", {}, status="running", source="cli")
    steps: list[int] = []
    flag = threading.Event()

    def on_event(e: dict) -> None:
        if e["type"] == "step":
            steps.append(e["iteration"])
            if e["iteration"] == 2:
                flag.set()  # what the SIGINT handler does

    run_id, status, record = run_recorded(
        store, tiny_run("dm", iterations=1000, eval_at=[]), torch.device("cpu"), on_event, should_stop=flag.is_set
    )
    assert status == "cancelled" and record["stopped"] and record["iterations"] == 2 and max(steps) == 2
    run = store.get_run(run_id)
    assert run["status"] == "cancelled" and not store.run_state(run_id)["cancel_requested"]
    assert store.get_run(other)["status"] == "running" and not store.run_state(other)["cancel_requested"]
