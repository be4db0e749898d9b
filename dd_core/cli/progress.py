"""The one progress printer of the CLI: engine events → a rewriting line on a terminal (a line every 10 s else),
on stderr so that stdout keeps the summary and the JSON record."""

from __future__ import annotations

import sys
import time


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
            self._line(
                f"eval @ {event['iteration']}: {event['net']} {100 * event['acc_mean']:.2f} ± "
                f"{100 * event['acc_std']:.2f} %",
                newline=True,
            )
        else:
            return
        self.last = now

    def _line(self, text: str, newline: bool = False) -> None:
        self.out.write(("\r\033[K" + text + ("\n" if newline else "")) if self.tty else text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
