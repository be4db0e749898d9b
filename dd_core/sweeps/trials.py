"""A trial of a sweep: one method at one grid point with one seed, and the validated ``RunConfig`` it runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Trial:
    """Trial ``index`` of a sweep: ``method``, the grid values it takes (``params``, as typed), its ``seed`` and its
    run spec (``config``: ``RunConfig.to_dict()``, validated)."""

    index: int
    method: str
    params: dict
    seed: int | None
    config: dict

    def label(self, sweep_id: int | None = None) -> str:
        """``sweep #3 · dm ipc=1 lr_img=0.1 seed 0``: how the run is named on the dashboard."""
        parts = [self.method, *(f"{k}={v}" for k, v in self.params.items())]
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        return (f"sweep #{sweep_id} · " if sweep_id is not None else "") + " ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Trial:
        return cls(**{k: data[k] for k in ("index", "method", "params", "seed", "config")})


def sweep_spec(trials: list[Trial], fixed: dict) -> dict:
    """The ``spec`` stored with the sweep: the fixed options as given and every trial (enough to resume it)."""
    return {"format": 1, "fixed": fixed, "trials": [t.to_dict() for t in trials]}


def trials_of(spec: dict) -> list[Trial]:
    return [Trial.from_dict(t) for t in spec.get("trials") or []]
