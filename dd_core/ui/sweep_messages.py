"""The sweep command's messages in the Sweep form's words, and the form field each one is about.

``plan`` validates the sweep as ``python -m dd_core sweep`` does, so its messages name the command's flags
(``trial dm ipc=abc seed 0: --grid ipc=abc: ...``, ``--seeds 0,0: a seed is repeated``). The form shows each under
its own field, led by that field's label, with the remaining flags and field names in UI words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .helptext import LABELS
from .messages import DISTILL_ALIASES, ui_message

# the Sweep form's fields (their slot names) and labels
FORM_LABELS: dict[str, str] = {
    "methods": "Methods",
    "dataset": "Dataset",
    "path": "Dataset folder",
    "preset": "Preset",
    "ipc": "IPC values",
    "grid1": "Grid key 1",
    "grid2": "Grid key 2",
    "seeds": "Seeds",
    "iterations": LABELS["iterations"],
    "eval_models": LABELS["eval_models"],
    "eval_epochs": LABELS["eval_epochs"],
    "cpus": "CPUs per trial",
    "gpus": "GPUs per trial",
    "address": "Ray address",
}
# a flag of the sweep command, or an engine field (ConfigError.field) → the form field that sets it
FLAG_SLOTS: dict[str, str] = {
    "--method": "methods",
    "--dataset": "dataset",
    "--data-path": "path",
    "--preset": "preset",
    "--seeds": "seeds",
    "--iterations": "iterations",
    "--eval-models": "eval_models",
    "--eval-epochs": "eval_epochs",
    "--cpus-per-trial": "cpus",
    "--gpus-per-trial": "gpus",
    "--address": "address",
}
FIELD_SLOTS: dict[str, str] = {
    "method": "methods",
    "dataset": "dataset",
    "path": "path",
    "preset": "preset",
    "seeds": "seeds",
    "iterations": "iterations",
    "eval_models": "eval_models",
    "n_models": "eval_models",
    "eval_epochs": "eval_epochs",
    "epochs": "eval_epochs",
    "cpus_per_trial": "cpus",
    "gpus_per_trial": "gpus",
    "address": "address",
}
# labels of the words left in a message once its leading flag is gone (``use --seeds`` → 'Seeds')
MESSAGE_LABELS: dict[str, str] = {
    **LABELS,
    "method": "Methods",
    "seeds": "Seeds",
    "cpus_per_trial": "CPUs per trial",
    "gpus_per_trial": "GPUs per trial",
    "address": "Ray address",
    "grid": "grid",
}

_TRIAL = re.compile(r"^trial (?P<trial>[^:]+): ")
_GRID = re.compile(r"--grid '?(?P<key>[A-Za-z_][\w-]*)(?:=(?P<values>[^:'\s]*))?'?(?::\s*|\s+)")
_FLAG = re.compile(r"^(?P<flag>--[a-z][a-z-]*)(?:[ =](?P<value>[^:]*))?:\s*")
_ANY_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_EXAMPLE = re.compile(r"e\.g\. (?:--[a-z][a-z-]*[ =]|[A-Za-z_]+=)")  # 'e.g. --method dm,am' → 'e.g. dm,am'
_OPTION = re.compile(r"\b[Oo]ption '(?P<name>\w+)'")  # "option 'ipc' must be ..." → 'Images per class (IPC) must be'


def sweep_error(
    text: str,
    field: str | None = None,
    grid_slots: Mapping[str, str] | None = None,
    slot_labels: Mapping[str, str] | None = None,
) -> tuple[str | None, str]:
    """``(form field or None, message in the form's words)`` of a ``plan`` error ``text`` (``field``: its
    ``ConfigError.field``); ``grid_slots``: grid key → the form field holding its values (``{"ipc": "ipc",
    "lr_img": "grid1"}``); ``slot_labels``: labels of the form's fields besides :data:`FORM_LABELS`."""
    grid_slots = dict(grid_slots or {})
    labels = {**FORM_LABELS, **(slot_labels or {})}
    trial = None
    m = _TRIAL.match(text)
    if m:
        trial, text = m.group("trial"), text[m.end() :]
    slot, value = None, None
    g = _GRID.search(text)
    f = _FLAG.match(text)
    if g:
        key = g.group("key").replace("-", "_")
        slot, value = grid_slots.get(key), g.group("values")
        text = text[: g.start()] + text[g.end() :]
    elif f and f.group("flag") in FLAG_SLOTS:
        slot, value = FLAG_SLOTS[f.group("flag")], (f.group("value") or "").strip() or None
        text = text[f.end() :]
    if slot is None and field:
        slot = FIELD_SLOTS.get(field) or grid_slots.get(field)
    if slot is None:  # the first flag it names ('--cpus-per-trial must be > 0 and ...')
        named = [FLAG_SLOTS[m.group(0)] for m in _ANY_FLAG.finditer(text) if m.group(0) in FLAG_SLOTS]
        slot = named[0] if named else None
    text = _EXAMPLE.sub("e.g. ", text)
    text = _OPTION.sub(lambda m: MESSAGE_LABELS.get(m.group("name")) or m.group(0), text)
    words = ui_message(text, MESSAGE_LABELS, aliases=DISTILL_ALIASES)
    words = words[:1].upper() + words[1:]
    if slot is not None:
        label = labels.get(slot, slot)
        if value or not words.startswith(label):
            words = label + (f" {value}" if value else "") + f": {words}"
    if trial:
        words += f" (trial {ui_message(trial, MESSAGE_LABELS)})"
    return slot, words
