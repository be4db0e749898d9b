"""The validators every layer uses, the evaluation protocols, and the evaluation / whole-dataset configs.

Every check raises :class:`ConfigError` with what is wrong and how to fix it, before any work starts; the error's
``field`` names the config field it is about (the interfaces translate it to their flag or widget).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

RUN_KINDS = ("distill", "baseline", "evaluate", "experts", "sweep")

PROTOCOLS = {  # docs/algorithms.md §3
    "paper": {"epochs": 1000, "n_models": 5},
    "quick": {"epochs": 300, "n_models": 2},
}

# Seeds are passed to torch.Generator.manual_seed, also as ``seed * 1_000_003 + k`` (per iteration, model, expert):
# 32 bits keep every derived seed inside the 64-bit range manual_seed accepts.
MAX_SEED = 2**32 - 1
DEVICE_CHOICES = "cpu, cuda, cuda:N (N = a GPU index)"
_DEVICE_RE = re.compile(r"cpu|cuda(:\d+)?")
_NONE_WORDS = ("", "none", "null")
_TRUE_WORDS, _FALSE_WORDS = ("true", "1"), ("false", "0")


def check_finite(name: str, value: Any, *, field: str | None = None) -> float:
    """``value`` as a float if it is a finite real number (not a bool), else ConfigError."""
    fld = field or name
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {value!r}", field=fld)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}", field=fld)
    return float(value)


def check_positive(name: str, value: T, *, integer: bool = False, field: str | None = None) -> T:
    """``value`` if it is > 0 (a finite number; an int when ``integer``), else ConfigError."""
    fld = field or name
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}", field=fld)
    if not integer:
        check_finite(name, value, field=fld)
    if not value > 0:  # type: ignore[operator]
        raise ConfigError(f"{name} must be > 0, got {value!r}", field=fld)
    return value


def check_choice(name: str, value: T, choices: Iterable[str], *, field: str | None = None) -> T:
    """``value`` if it is one of ``choices``, else ConfigError listing them."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}", field=field or name)
    return value


def check_seed(name: str, value: Any, *, field: str | None = None) -> int:
    """``value`` if it is a whole number in 0..MAX_SEED, else ConfigError."""
    fld = field or name
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= MAX_SEED:
        raise ConfigError(f"{name} must be a whole number from 0 to {MAX_SEED}, got {value!r}", field=fld)
    return int(value)


def check_device_name(name: str | None, *, field: str = "device") -> str | None:
    """``name`` if it is None (auto) or spells cpu, cuda or cuda:N; whether it exists is :func:`device.pick_device`'s
    business."""
    if name is not None and not (isinstance(name, str) and _DEVICE_RE.fullmatch(name)):
        raise ConfigError(f"unknown device {name!r}; choose one of: {DEVICE_CHOICES}", field=field)
    return name


def check_schedule(iterations: int, eval_at: list[int]) -> list[int]:
    """Validate the iteration count and the evaluation points (0 = initial set, ≤ iterations); sorted, unique."""
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise ConfigError(f"iterations must be a whole number >= 0, got {iterations!r}", field="iterations")
    wrong = [i for i in eval_at if not isinstance(i, int) or isinstance(i, bool)]
    if wrong:
        raise ConfigError(f"evaluation iterations must be whole numbers, got {wrong!r}", field="eval_at")
    bad = [i for i in eval_at if i < 0 or i > iterations]
    if bad:
        raise ConfigError(
            f"evaluation iteration(s) {bad} lie outside the run (0..{iterations}); "
            f"use values between 0 and {iterations}",
            field="eval_at",
        )
    return sorted(set(eval_at))


# ------------------------------------------------------------------------------------- options by declared type
@functools.cache
def field_types(config_cls: type) -> dict[str, tuple[type, bool]]:
    """{field: (base type, optional)} of a config dataclass, from its annotations (``int | None`` → (int, True))."""
    hints = typing.get_type_hints(config_cls)
    out: dict[str, tuple[type, bool]] = {}
    for f in dataclasses.fields(config_cls):
        tp, optional = hints.get(f.name, Any), False
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = len(args) < len(typing.get_args(tp))
            tp = args[0] if len(args) == 1 else Any
        out[f.name] = (typing.get_origin(tp) or tp, optional)
    return out


def field_choices(config_cls: type) -> dict[str, tuple[str, ...]]:
    """{field: valid values} for the choice fields of a config class (``choices()`` or a ``CHOICES`` dict)."""
    if hasattr(config_cls, "choices"):
        return dict(config_cls.choices())
    return dict(getattr(config_cls, "CHOICES", {}))


def coerce_value(name: str, value: Any, kind: type, optional: bool = False, choices: Iterable[str] | None = None):
    """``value`` converted to ``kind`` (int, float, bool, str, ...; text as typed on a command line is parsed),
    or ConfigError naming ``name`` and the expected type. Floats must be finite; choices must be one of ``choices``."""
    label = f"option {name!r}"
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS)):
        return None
    text = value.strip() if isinstance(value, str) else None
    if kind is bool:
        if isinstance(value, bool):
            return value
        word = text.lower() if text is not None else value if isinstance(value, int) else None
        if word in (*_TRUE_WORDS, 1):
            return True
        if word in (*_FALSE_WORDS, 0):
            return False
        raise ConfigError(f"{label} must be true or false (or 1 / 0), got {value!r}", field=name)
    if kind is int:
        number: Any = value
        if text is not None:
            try:
                number = int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise ConfigError(f"{label} must be a whole number, got {value!r}", field=name) from None
        if isinstance(number, float) and math.isfinite(number) and number.is_integer():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise ConfigError(f"{label} must be a whole number, got {value!r}", field=name)
        return int(number)
    if kind is float:
        number = value
        if text is not None:
            try:
                number = float(text)
            except ValueError:
                raise ConfigError(f"{label} must be a number, got {value!r}", field=name) from None
        return check_finite(label, number, field=name)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{label} must be text, got {value!r}", field=name)
        if choices is not None:
            check_choice(name, text, choices)
            return text
        return value
    if kind in (dict, list, tuple) and not isinstance(value, kind):
        raise ConfigError(f"{label} must be a {kind.__name__}, got {value!r}", field=name)
    return value


def coerce_options(config_cls: type, options: Mapping[str, Any]) -> dict:
    """``options`` converted and type-checked by the declared type of each field of the dataclass ``config_cls``
    (int, float, bool, str, a choice, optional); keys that are not fields are left as they are."""
    types_, choices = field_types(config_cls), field_choices(config_cls)
    out = {}
    for name, value in options.items():
        if name in types_:
            kind, optional = types_[name]
            value = coerce_value(name, value, kind, optional, choices.get(name))
        out[name] = value
    return out


def config_from(config_cls: type[T], options: Mapping[str, Any], what: str, **fixed: Any) -> T:
    """``config_cls(**fixed, **options)`` with unknown keys refused (listing the valid ones) and values coerced."""
    names = [f.name for f in dataclasses.fields(config_cls) if f.init and f.name not in fixed]  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ConfigError(f"{what} has no option(s) {', '.join(unknown)}; valid: {', '.join(names)}", field=unknown[0])
    return config_cls(**fixed, **coerce_options(config_cls, options))


def coerce_fields(cfg: Any) -> None:
    """Coerce every field of the dataclass instance ``cfg`` in place (see :func:`coerce_options`)."""
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    for name, value in coerce_options(type(cfg), values).items():
        setattr(cfg, name, value)


def default_protocol(device: torch.device | str) -> str:
    """``paper`` on a GPU, ``quick`` on CPU (docs/algorithms.md §3)."""
    return "paper" if str(device).split(":")[0] == "cuda" else "quick"


@dataclass
class EvalConfig:
    """Fresh networks trained on a small labelled set and tested on the real test set (docs/algorithms.md §3)"""

    protocol: str = "quick"
    epochs: int = 300
    n_models: int = 2
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    dsa: bool = True
    dsa_strategy: str | None = None  # None: the dataset's strategy

    CHOICES = {"protocol": (*PROTOCOLS, "custom")}

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_positive("eval epochs", self.epochs, integer=True, field="epochs")
        check_positive("eval models", self.n_models, integer=True, field="n_models")
        check_positive("eval learning rate", self.lr, field="lr")
        check_positive("eval batch size", self.batch_size, integer=True, field="batch_size")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"eval momentum must be in [0, 1), got {self.momentum}", field="momentum")
        if self.weight_decay < 0:
            raise ConfigError(f"eval weight decay must be >= 0, got {self.weight_decay}", field="weight_decay")

    @classmethod
    def from_protocol(
        cls,
        protocol: str | None = None,
        *,
        device: torch.device | str = "cpu",
        epochs: int | None = None,
        n_models: int | None = None,
        **kw,
    ) -> EvalConfig:
        """A named protocol (default: by device) with optional overrides; overriding makes the name 'custom'
        only if the values differ from the named protocol's."""
        name = protocol or default_protocol(device)
        check_choice("protocol", name, PROTOCOLS)
        base: dict[str, int] = dict(PROTOCOLS[name])
        if epochs is not None:
            base["epochs"] = epochs
        if n_models is not None:
            base["n_models"] = n_models
        if base != PROTOCOLS[name]:
            name = "custom"
        return cls(protocol=name, epochs=base["epochs"], n_models=base["n_models"], **kw)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BaselineConfig:
    """Whole-dataset training (the seed deck's upper bound): SGD + momentum, cosine annealing over all steps."""

    dataset: str = "mnist-5k"
    net: str = "convnet-3"
    epochs: int = 20
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 256
    dsa: bool = False
    seed: int = 0
    dataset_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        coerce_fields(self)
        check_positive("epochs", self.epochs, integer=True)
        check_positive("learning rate", self.lr, field="lr")
        check_positive("batch size", self.batch_size, integer=True, field="batch_size")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}", field="momentum")
        if self.weight_decay < 0:
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay}", field="weight_decay")
        check_seed("seed", self.seed)

    def to_dict(self) -> dict:
        return asdict(self)
