"""Widgets generated from a method's config dataclass, and validation that puts each error next to its field.

Every field of ``METHODS[name].config_cls`` gets a widget labelled from ``helptext.LABELS`` with the dataclass
default (bool → checkbox, int/float → number input without bounds, so a bad value is refused with the engine's own
message rather than silently clipped — except IPC, bounded by the dataset's smallest class; ``init`` → the method's
INITS; ``net`` → auto + the zoo; other strings → text). A config class may add ``CHOICES = {field: (...)}`` to get a
select box for a string field.

Validation runs the engine's validators over the whole form and collects every error with its field
(:func:`config_errors`); :class:`FormErrors` words them with the form's labels and shows each under its widget.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

import streamlit as st

from dd_core.errors import ConfigError, DDError

from .helptext import LABELS, help_for
from .messages import DISTILL_ALIASES, error_field, mentioned_field, named_fields, ui_message

AUTO = "auto"
SET_FIELDS = ("ipc", "init", "net", "seed")
DSA_FIELDS = ("dsa", "dsa_strategy")


def config_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def default_of(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def label_for(name: str) -> str:
    """The label the Distill form shows for field ``name`` (and the name its messages use)."""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def field_widget(
    container,
    cls,
    f: dataclasses.Field,
    key: str,
    method: str | None = None,
    *,
    default=None,
    net_options: list[str] | None = None,
    max_value: int | None = None,
):
    """One widget for dataclass field ``f``; returns its value in the field's type (None for 'auto'/empty).

    ``max_value`` (IPC): the input's upper bound; a value above it (typed, or kept from another dataset) is refused
    and the widget returns None, which :func:`ipc_problem` explains next to the field."""
    name, typ = f.name, str(f.type)
    value = default_of(f) if default is None else default
    label = label_for(name)
    helptext = help_for(name, method)
    choices = getattr(cls, "CHOICES", {}).get(name)
    if name == "init":
        opts = list(getattr(cls, "INITS", ("real",)))
        return container.selectbox(label, opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext)
    if name == "net":
        opts = [AUTO] + list(net_options or [])
        pick = container.selectbox(label, opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext)
        return None if pick == AUTO else pick
    if choices:
        opts = list(choices)
        return container.selectbox(label, opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext)
    if typ.startswith("bool"):
        return container.checkbox(label, value=bool(value), key=key, help=helptext)
    if typ.startswith("int") and max_value is not None:
        # value=None: Streamlit replaces an out-of-range value by the default, so None means "refused" (or
        # emptied), never a silent jump to another number; the form's value lives in the session state
        if key not in st.session_state:
            st.session_state[key] = min(int(value if value is not None else 1), max_value)
        v = container.number_input(
            label,
            value=None,
            max_value=max_value,
            step=1,
            format="%d",
            key=key,
            help=helptext,
            placeholder=f"at most {max_value}",
        )
        return None if v is None else int(v)
    if typ.startswith("int"):
        return int(
            container.number_input(
                label, value=int(value if value is not None else 0), step=1, format="%d", key=key, help=helptext
            )
        )
    if typ.startswith("float"):
        v = float(value if value is not None else 0.0)
        step = max(abs(v) / 10, 1e-4) if v else 0.01
        return float(
            container.number_input(label, value=v, step=float(f"{step:.1g}"), format="%g", key=key, help=helptext)
        )
    text = container.text_input(
        label,
        value="" if value is None else str(value),
        key=key,
        help=helptext,
        placeholder="default" if "None" in typ else "",
    )
    return text.strip() or (None if "None" in typ else "")


# ------------------------------------------------------------------------------------------------- IPC bound
# Training images in the smallest class of the datasets whose files are fixed (the official splits), for those
# dataset_info does not report class counts. User folders (folder) are only known once loaded: no bound here, the
# run itself checks them.
SMALLEST_CLASS: dict[str, tuple[int, str]] = {
    "mnist": (5421, "5"),
    "mnist-5k": (400, "0"),
    "fashion-mnist": (6000, "T-shirt/top"),
    "cifar10": (5000, "airplane"),
    "mhist": (630, "SSA"),
}


def smallest_class(dataset: str, info: dict) -> tuple[int, str] | None:
    """(training images in the smallest class, its name) of ``dataset``, or None where unknown."""
    counts = info.get("class_counts")
    if counts:
        k = min(range(len(counts)), key=lambda c: counts[c])
        names = info.get("class_names") or [str(c) for c in range(len(counts))]
        return int(counts[k]), str(names[k])
    return SMALLEST_CLASS.get(dataset)


def ipc_problem(ipc: int | None, dataset: str, info: dict) -> str | None:
    """Why ``ipc`` is refused for ``dataset`` before anything is queued (None: out of the input's range, or empty)."""
    bound = smallest_class(dataset, info)
    label = label_for("ipc")
    if bound is None:
        return None if ipc is not None else f"Enter {label}."
    n, name = bound
    why = f"{dataset}'s smallest class ({name!r}) has {n:,} training images"
    if ipc is None:  # refused by the input (above its bound) or emptied
        return f"{label} must be {n} or less (and at least 1): {why}."
    if ipc > n:
        return f"{label} {ipc} is too large: {why}; use {n} or less."
    return None


# ------------------------------------------------------------------------------------------------- validation
class FormErrors:
    """The errors of one form, in the dashboard's words: ``fields`` {field: message} (shown under its widget) and
    ``general`` (messages tied to no widget, shown under Start)."""

    def __init__(self, labels: Mapping[str, str] | None = None, aliases: Mapping[str, str] | None = None):
        self.labels = dict(LABELS if labels is None else labels)
        self.aliases = dict(DISTILL_ALIASES if labels is None and aliases is None else (aliases or {}))
        self.fields: dict[str, str] = {}
        self.general: list[str] = []

    def add(self, err: BaseException | str, field: str | None = None) -> None:
        """Record ``err`` under ``field`` (None: the engine's ``err.field``, else the field its message names)."""
        if field is None and isinstance(err, BaseException):
            field = error_field(err, self.labels, self.aliases)
        elif field is None:
            field = mentioned_field(str(err), self.labels, self.aliases)
        text = ui_message(str(err), self.labels, field=field, aliases=self.aliases)
        if field is not None and field in self.labels:
            self.fields.setdefault(field, text)
        elif text not in self.general:
            self.general.append(text)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def show(self, slots: Mapping[str, object]) -> None:
        """Each field's message into its slot (an ``st.empty``); a field without a slot goes to ``general``."""
        for name, slot in slots.items():
            show_error(slot, self.fields.get(name))
        for name, text in self.fields.items():
            if name not in slots and text not in self.general:
                self.general.append(text)


def config_errors(
    validate: Callable[[dict], object],
    values: dict,
    defaults: dict,
    aliases: Mapping[str, str] | None = None,
) -> list[tuple[str | None, ConfigError]]:
    """Every error ``validate(values)`` raises, one per field: validate, tie the error to a field, put that field
    back to its default and validate again, until the values pass (or an error can be tied to no field).

    An error is tied to ``err.field`` (the engine's word), else the field its message starts with, else the one
    field whose default makes the values pass, else the first field it names; else it is general (field None)."""
    values = dict(values)
    aliases = aliases or {}
    out: list[tuple[str | None, ConfigError]] = []

    def error_of(candidate: dict) -> ConfigError | None:
        try:
            validate(candidate)
        except ConfigError as err:
            return err
        return None

    for _ in range(len(values) + 1):
        err = error_of(values)
        if err is None:
            break
        field = getattr(err, "field", None)
        field = aliases.get(field, field) if field else None
        if field not in values:
            field = mentioned_field(str(err), values, aliases, subject_only=True)
        if field is None:
            field = next(
                (
                    f
                    for f in values
                    if f in defaults and values[f] != defaults[f] and error_of({**values, f: defaults[f]}) is None
                ),
                None,
            )
        if field is None:  # the first field it names that is not at its default, else the first it names
            named = named_fields(str(err), values, aliases)
            field = next((f for f in named if values[f] != defaults.get(f)), named[0] if named else None)
        if field is None:
            out.append((None, err))
            break
        if any(f == field for f, _ in out):  # its default did not help: the rest stays unknown until it is fixed
            break
        out.append((field, err))
        if field not in defaults or values[field] == defaults[field]:
            break
        values[field] = defaults[field]
    return out


def method_errors(method: str, values: dict) -> list[tuple[str | None, ConfigError]]:
    """Every error of the method's options (its registry validator, ``method_config``), one per field."""
    from dd_core.methods import METHODS, method_config

    defaults = {f.name: default_of(f) for f in config_fields(METHODS[method].config_cls)}
    return config_errors(lambda v: method_config(method, v), values, defaults, DISTILL_ALIASES)


def check_net(name: str | None, info: dict) -> str | None:
    """Why ``name`` cannot be built for the dataset (too deep for its size...), or None."""
    if not name:
        return None
    return _net_problem(name, info.get("channels"), info.get("num_classes"), info.get("image_size"))


@functools.lru_cache(maxsize=256)
def _net_problem(name: str, channels, num_classes, image_size) -> str | None:
    from dd_core.nets import build_net, check_net_name

    try:
        check_net_name(name)
        if channels and image_size:
            build_net(name, int(channels), int(num_classes or 2), int(image_size))
    except DDError as err:
        return str(err)
    return None


def show_error(slot, message: str | None) -> None:
    if message:
        slot.error(message, icon=":material/error:")
