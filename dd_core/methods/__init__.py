"""The registry of methods: distillers (dm, am, pad) and coreset baselines (random, herding)."""

from __future__ import annotations

from ..config import coerce_options
from ..errors import ConfigError
from ..events import EventFn, StopFn
from .am import AM
from .base import Method
from .coreset import Herding, RandomSubset
from .dm import DM
from .pad import PAD

METHODS: dict[str, type[Method]] = {"dm": DM, "am": AM, "pad": PAD, "random": RandomSubset, "herding": Herding}


def method_config(name: str, options: dict):
    """The validated config of method ``name`` from ``options`` (plain values or text, converted by each field's
    declared type); unknown names/options list the valid ones. The CLI, the dashboard and presets all come here."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}", field="method")
    cls = METHODS[name].config_cls
    valid = cls.fields()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"method {name!r} has no option(s) {', '.join(unknown)}; valid: {', '.join(valid)}", field=unknown[0]
        )
    cfg = cls(**coerce_options(cls, options))
    cfg.validate()
    return cfg


def build_method(
    name: str,
    real,
    options: dict,
    device,
    on_event: EventFn | None = None,
    should_stop: StopFn | None = None,
) -> Method:
    """``METHODS[name]`` built on ``real`` from ``options`` (validated first); set-up phases (PAD's experts)
    report to ``on_event`` and stop on ``should_stop``."""
    cfg = method_config(name, options)
    return METHODS[name](real, cfg, device, on_event, should_stop)
