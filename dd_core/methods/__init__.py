"""The registry of methods: distillers (dm, am, pad) and coreset baselines (random, herding)."""

from __future__ import annotations

from .am import AM
from .base import Method
from .coreset import Herding, RandomSubset
from .dm import DM
from .pad import PAD

METHODS: dict[str, type[Method]] = {"dm": DM, "am": AM, "pad": PAD, "random": RandomSubset, "herding": Herding}
