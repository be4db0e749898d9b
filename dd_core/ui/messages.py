"""Engine messages in the dashboard's words, and the field each one is about.

The engine names options by their config field (``lr_img``, ``batch_real``) and, in older messages, by the command
line's flag (``use --ipc 400 or less``). A page shows neither: :func:`ui_message` puts the form's label in place of a
field name and turns flag advice into UI wording; :func:`error_field` finds the widget an error belongs to, from
``ConfigError.field`` where the engine sets it, else from the message (the subject, a flag or a field named in it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .helptext import LABELS

# flags whose field is not the flag's own name with '-' → '_'
FLAG_FIELDS: dict[str, str] = {
    "--rm-easy-first": "rm_easy_ratio_first",
    "--rm-easy-second": "rm_easy_ratio_second",
    "--eval-epochs": "eval_epochs",
    "--eval-models": "eval_models",
    "--no-scheduler": "scheduler",
    "--data-path": "path",
}
# engine names of the Distill form's fields that are not its own field names (EvalConfig, the run spec)
DISTILL_ALIASES: dict[str, str] = {
    "n_models": "eval_models",
    "eval epochs": "eval_epochs",
    "eval models": "eval_models",
    "evaluation iteration": "eval_at",
    "evaluation iterations": "eval_at",
    "evaluation iteration(s)": "eval_at",
    "evaluation schedule": "eval_at",
    "IPC (images per class)": "ipc",
    "run kind": "kind",
}
# engine names of the Baseline form's fields (BaselineConfig's messages say 'learning rate', 'batch size', ...)
BASELINE_ALIASES: dict[str, str] = {"learning rate": "lr"}

_FLAG = r"--[a-z][a-z0-9-]*"
_VERB = r"(?=\s+(?:must|is|are|has|have|cannot|needs|need|should|lie|lies)\b)"


def flag_field(flag: str) -> str:
    """'--lr-img' → 'lr_img'."""
    return FLAG_FIELDS.get(flag) or flag[2:].replace("-", "_")


def _names_of(field: str, aliases: Mapping[str, str]) -> list[str]:
    """The names the engine may use for ``field``, longest first."""
    names = {field, field.replace("_", " "), *(a for a, f in aliases.items() if f == field)}
    return sorted(names, key=len, reverse=True)


def _label(field: str, labels: Mapping[str, str]) -> str:
    return labels.get(field) or field.replace("_", " ")


def ui_message(
    text: str,
    labels: Mapping[str, str] | None = None,
    *,
    field: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """``text`` with field names replaced by the form's ``labels`` and command-line flags by UI wording.

    ``field``: the field the message is about (its subject is then written with that field's label); ``aliases``:
    other engine names of the form's fields (``{"n_models": "eval_models"}``)."""
    labels = LABELS if labels is None else labels
    aliases = DISTILL_ALIASES if aliases is None and labels is LABELS else (aliases or {})

    def field_label(name: str) -> str:
        return _label(aliases.get(name, name), labels)

    # 'use --ipc 400 or less' → 'set Images per class (IPC) to 400 or less'; 'use --device cpu' → 'set device to cpu'
    def advice(m: re.Match) -> str:
        label = field_label(flag_field(m.group(1)))
        if m.group(2) is None:
            return f"change {label}"
        return f"set {label} to {m.group(2)}" + (m.group(3) or "")

    text = re.sub(
        rf"\buse ({_FLAG})(?:[ =]([^\s;,)]+))?( or (?:less|more|fewer|lower|higher|smaller|larger))?",
        advice,
        text,
    )
    text = re.sub(rf"(?<![\w-]){_FLAG}", lambda m: field_label(flag_field(m.group(0))), text)
    # the subject: 'lr_img must be > 0' / 'momentum must be in [0, 1)' / 'eval epochs must be > 0'
    subjects = _names_of(field, aliases) if field else sorted({*labels, *aliases}, key=len, reverse=True)
    for name in subjects:
        target = field or aliases.get(name, name)
        if target not in labels:
            continue
        m = re.match(rf"{re.escape(name)}{_VERB}", text, flags=re.IGNORECASE)
        if m:
            text = labels[target] + text[m.end() :]
            break
    # code names anywhere ('... <= max_start_epoch', "option(s) 'lr_img'")
    for name in sorted({*labels, *aliases}, key=len, reverse=True):
        if "_" in name and (aliases.get(name, name) in labels):
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", field_label(name), text)
    return text


def _subject(text: str, names: list[str], aliases: Mapping[str, str]) -> str | None:
    for name in names:
        for candidate in {name, name.replace("_", " ")}:
            if re.match(rf"{re.escape(candidate)}{_VERB}", text, flags=re.IGNORECASE):
                return aliases.get(name, name)
    return None


def named_fields(text: str, fields: Iterable[str], aliases: Mapping[str, str] | None = None) -> list[str]:
    """The fields of ``fields`` that ``text`` names (as a flag, a field name or 'IPC'), in the order it names them."""
    fields = set(fields)
    aliases = dict(aliases or {})
    hits: dict[str, int] = {}
    for m in re.finditer(rf"(?<![\w-]){_FLAG}", text):
        f = flag_field(m.group(0))
        f = aliases.get(f, f)
        if f in fields:
            hits.setdefault(f, m.start())
    for name in {*fields, *(a for a, f in aliases.items() if f in fields)}:
        if "_" in name or name.lower() == "ipc":
            hit = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, flags=re.IGNORECASE)
            if hit:
                f = aliases.get(name, name)
                hits[f] = min(hits.get(f, hit.start()), hit.start())
    return sorted(hits, key=hits.__getitem__)


def mentioned_field(
    text: str, fields: Iterable[str], aliases: Mapping[str, str] | None = None, *, subject_only: bool = False
) -> str | None:
    """The field of ``fields`` that ``text`` is about: its subject, else the first flag or field name in it."""
    fields = set(fields)
    aliases = dict(aliases or {})
    names = sorted({*fields, *(a for a, f in aliases.items() if f in fields)}, key=len, reverse=True)
    subject = _subject(text, names, aliases)
    if subject or subject_only:
        return subject
    named = named_fields(text, fields, aliases)
    return named[0] if named else None


def error_field(err: BaseException, fields: Iterable[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The field of ``fields`` an engine error is about: ``ConfigError.field`` when set, else read from the message."""
    fields = set(fields)
    aliases = aliases or {}
    named = getattr(err, "field", None)
    if named:
        named = aliases.get(named, named)
        if named in fields:
            return named
    return mentioned_field(str(err), fields, aliases)


def run_error(text: str | None, kind: str | None = "distill") -> str:
    """A run's recorded error in the dashboard's words (the labels of the form that starts runs of ``kind``)."""
    if not text:
        return ""
    from .helptext import BASELINE_LABELS

    if kind == "baseline":
        return ui_message(text, BASELINE_LABELS, aliases=BASELINE_ALIASES)
    return ui_message(text)
