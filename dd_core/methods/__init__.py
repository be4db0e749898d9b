"""The registry of methods: distillers (dm, am) and coreset baselines (random, herding)."""
from __future__ import annotations

from .am import AM
from .base import Method
from .coreset import Herding, RandomSubset
from .dm import DM

METHODS: dict[str, type[Method]] = {"dm": DM, "am": AM, "random": RandomSubset, "herding": Herding}
