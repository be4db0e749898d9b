"""The one progress printer of the CLI: engine events → a rewriting line on a terminal (a line every 10 s else),
on stderr so that stdout keeps the summary and the JSON record."""

from __future__ import annotations

import sys
import time

from ..labels import gap_text, net_label, pct


class ProgressPrinter:
    """Progress on stderr: iteration, loss, it/s, ETA (a rewriting line on a terminal, a line every 10 s else)."""

    def __init__(self, total: int = 0):
        """``total``: the run's iterations (for the ETA of ``step`` events; 0 when it has none)."""
        self.total, self.out, self.tty = total, sys.stderr, sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, event: dict) -> None:
        now = time.monotonic()
        kind = event["type"]
        if kind == "step":
            if now - self.last < (0.2 if self.tty else 10.0) and event["iteration"] != self.total:
                return
            it, rate = event["iteration"], event["it_per_s"]
            eta = (self.total - it) / rate if rate > 0 else 0
            parts = " ".join(f"{k} {v:.4g}" for k, v in event["metrics"].items())
            self._line(f"iter {it}/{self.total}  {parts}  {rate:.2f} it/s  ETA {eta:.0f}s")
        elif kind == "progress" and event.get("phase") == "setup":
            if event.get("final"):
                return
            self._line(f"start-up: {event.get('step', '…')}")
        elif kind == "progress" and event.get("phase") == "experts":
            if event.get("cached"):
                if event["expert"] == event["experts"]:
                    self._line(f"experts: using {event['experts']} cached trajectories", newline=True)
                return
            if now - self.last < (0.2 if self.tty else 10.0) and not event.get("final"):
                return
            what = event.get("step") or f"epoch {event['epoch']}/{event['epochs']}"
            extra = (
                f"  test acc {event['test_acc']:.4f}"
                if "test_acc" in event
                else (f"  loss {event['loss']:.4f}" if "loss" in event else "")
            )
            self._line(
                f"experts: building expert {event['expert']}/{event['experts']} {what}{extra}",
                newline=bool(event.get("final")),
            )
        elif kind == "progress" and event.get("phase") == "eval" and now - self.last > (0.2 if self.tty else 10.0):
            self._line(
                f"eval @ {event['iteration']}: {event['net']} model {event['model']}/{event['n_models']} "
                f"epoch {event['epoch']}/{event['epochs']}"
            )
        elif kind == "epoch":  # whole-dataset training
            acc = event.get("test_acc")
            self._line(
                f"epoch {event['epoch']}/{event['epochs']}  loss {event['loss']:.4f}"
                + (f"  test acc {acc:.4f}" if acc is not None else "")
            )
        elif kind == "eval":
            self._line(f"eval {format_eval(dict(event))}", newline=True)
        else:
            return
        self.last = now

    def _line(self, text: str, newline: bool = False) -> None:
        self.out.write(("\r\033[K" + text + ("\n" if newline else "")) if self.tty else text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


def format_eval(e: dict, what: str = "") -> str:
    """One evaluation as a line: ``DM  IPC 1  ConvNet-3: 86.4 % (random real 61.2 %, +25.2 points; 1 model × 150
    epochs)``, then the whole-dataset reference and, for learned labels, the images' worth with hard labels."""
    n = e.get("n_models") or 0
    acc = pct(e["acc_mean"]) if n == 1 else f"{100 * e['acc_mean']:.1f} ± {100 * (e.get('acc_std') or 0):.1f} %"
    at = f" @ {e['iteration']}" if e.get("iteration") is not None else ""
    models = f"{n} model{'' if n == 1 else 's'} × {e.get('epochs')} epochs, {e.get('protocol')}"
    if e.get("random_acc_mean") is not None:
        inside = f"random real {pct(e['random_acc_mean'])}, {100 * e['gain_over_random']:+.1f} points; {models}"
    elif e.get("reference_error"):
        inside = f"random real: {e['reference_error']}; {models}"
    else:
        inside = models
    line = f"{what}{net_label(e.get('net'))}{at}: {acc} ({inside})"
    if e.get("hard_label_acc_mean") is not None:
        line += f"; with hard labels and the protocol's lr: {pct(e['hard_label_acc_mean'])}"
    if e.get("whole_acc") is not None:
        line += f"; whole dataset {pct(e['whole_acc'])} ({e.get('whole_epochs')} epochs, run #{e.get('whole_run_id')})"
        if e.get("gap_closed") is not None:
            line += f", {gap_text(e['gap_closed'])}"
    return line


class SweepProgressPrinter:
    """A sweep's progress on stderr: trials done / running / queued, failures, the best so far (a rewriting line on
    a terminal; else a line when the counts change, at most every 10 s while they do not)."""

    def __init__(self, sweep_id: int):
        self.sweep_id, self.out, self.tty = sweep_id, sys.stderr, sys.stderr.isatty()
        self.shown: tuple | None = None
        self.last = 0.0
        self._waited: tuple | None = None

    def __call__(self, state: dict) -> None:
        counts = tuple(state.get(k, 0) for k in ("done", "failed", "cancelled", "running", "queued"))
        now = time.monotonic()
        if counts == self.shown and now - self.last < (1.0 if self.tty else 10.0):
            return
        self.shown, self.last = counts, now
        done, failed, cancelled, running, queued = counts
        best = state.get("best")
        text = (
            f"sweep #{self.sweep_id}: {done + failed + cancelled}/{state.get('total', 0)} trials finished "
            f"({done} done, {failed} failed, {cancelled} cancelled), {running} running, {queued} queued"
            + (f"; best so far {pct(best['acc_mean'])} ({best['label']})" if best else "")
        )
        self.out.write(("\r\033[K" + text) if self.tty else text + "\n")
        self.out.flush()

    def waiting(self, running: list[dict]) -> None:
        """The device is busy with other runs: say once which, the sweep starts when they end."""
        ids = tuple(r["id"] for r in running)
        if ids and ids != self._waited:
            self._waited = ids
            what = ", ".join(f"#{r['id']} ({r['kind']} {r.get('method') or ''})".replace(" )", ")") for r in running)
            self.out.write(f"sweep #{self.sweep_id}: waiting for run {what} on {running[0]['device']} to finish\n")
            self.out.flush()

    def close(self) -> None:
        if self.tty and self.shown is not None:
            self.out.write("\n")
            self.out.flush()
