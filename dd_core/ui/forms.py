"""Widgets generated from a method's config dataclass, and validation that puts each error next to its field.

Every field of ``METHODS[name].config_cls`` gets a widget with the dataclass default (bool → checkbox, int/float →
number input without bounds, so a bad value is refused with the engine's own message rather than silently clipped;
``init`` → the method's INITS; ``net`` → auto + the zoo; other strings → text). A config class may add
``CHOICES = {field: (...)}`` to get a select box for a string field.
"""

from __future__ import annotations

import dataclasses
import functools

from dd_core.errors import ConfigError, DDError

from .helptext import help_for

AUTO = "auto"
SET_FIELDS = ("ipc", "init", "net", "seed")
DSA_FIELDS = ("dsa", "dsa_strategy")


def config_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def default_of(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def field_widget(
    container,
    cls,
    f: dataclasses.Field,
    key: str,
    method: str | None = None,
    *,
    default=None,
    net_options: list[str] | None = None,
):
    """One widget for dataclass field ``f``; returns its value in the field's type (None for 'auto'/empty)."""
    name, typ = f.name, str(f.type)
    value = default_of(f) if default is None else default
    label = name.replace("_", " ")
    helptext = help_for(name, method)
    choices = getattr(cls, "CHOICES", {}).get(name)
    if name == "init":
        opts = list(getattr(cls, "INITS", ("real",)))
        return container.selectbox(
            "init", opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext
        )
    if name == "net":
        opts = [AUTO] + list(net_options or [])
        pick = container.selectbox("net", opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext)
        return None if pick == AUTO else pick
    if choices:
        opts = list(choices)
        return container.selectbox(label, opts, index=opts.index(value) if value in opts else 0, key=key, help=helptext)
    if typ.startswith("bool"):
        return container.checkbox(label, value=bool(value), key=key, help=helptext)
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


def field_errors(cls, values: dict) -> dict[str, str]:
    """{field: message} for each option that is invalid on its own (other fields at their defaults), plus
    '_' for an error that only the combination raises."""
    errors: dict[str, str] = {}
    try:  # the defaults themselves may not validate on their own (then only new messages are a field's own)
        cls().validate()
        default_error = None
    except (ConfigError, TypeError, ValueError) as err:
        default_error = str(err)
    for name, v in values.items():
        try:
            obj = cls(**{name: v})
            obj.validate()
        except (ConfigError, TypeError, ValueError) as err:
            if str(err) != default_error:
                errors[name] = str(err)
    if not errors:
        try:
            cls(**values).validate()
        except (ConfigError, TypeError, ValueError) as err:
            errors["_"] = str(err)
    return errors


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
