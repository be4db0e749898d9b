"""``--grid KEY=V1,V2`` parsing and expansion into grid points (every combination, in the order given)."""

from __future__ import annotations

import itertools

from ..errors import ConfigError

# run options a grid may vary besides the method's own config fields (``seed`` is varied with ``--seeds``)
RUN_KEYS = ("iterations", "eval_epochs", "eval_models", "protocol")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["ipc=1,10", "lr_img=0.1,1"]`` → ``{"ipc": ["1", "10"], "lr_img": ["0.1", "1"]}`` (keys with dashes become
    underscores); an item without ``=``, an empty value list, a repeated key or value is refused naming it."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid {item!r}: use KEY=V1,V2,..., e.g. --grid ipc=1,10,50", field="grid")
        key, text = item.split("=", 1)
        key = key.strip().replace("-", "_")
        values = [v.strip() for v in text.split(",") if v.strip()]
        if not key:
            raise ConfigError(f"--grid {item!r}: the key is missing (KEY=V1,V2,...)", field="grid")
        if key == "seed":
            raise ConfigError("--grid seed: vary the seed with --seeds 0,1,2", field="grid")
        if not values:
            raise ConfigError(f"--grid {key}: the grid is empty; give values, e.g. {key}=1,10", field="grid")
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice; give every value in one --grid {key}=...", field="grid")
        if len(set(values)) < len(values):
            raise ConfigError(f"--grid {key}={text}: a value is repeated", field="grid")
        grid[key] = values
    return grid


def points(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values (one empty point for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def check_keys(grid: dict[str, list[str]], method_fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """The grid keys that apply to each method (``{method: [keys]}``): a run option applies to every method, a config
    field to the methods that have it. A key no method has is refused, listing the valid keys."""
    out: dict[str, list[str]] = {m: [] for m in method_fields}
    for key in grid:
        users = [m for m, fields in method_fields.items() if key in RUN_KEYS or key in fields]
        if not users:
            valid = "; ".join(
                f"{m}: {', '.join(f for f in fields if f != 'seed')}" for m, fields in method_fields.items()
            )
            raise ConfigError(
                f"--grid {key}: unknown key for {', '.join(method_fields)}; valid keys: run options: "
                f"{', '.join(RUN_KEYS)}; {valid}",
                field="grid",
            )
        for m in users:
            out[m].append(key)
    return out


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0,1,2"`` → ``[0, 1, 2]`` (each checked as a seed); None when not given."""
    from ..config import check_seed, coerce_value

    if text is None:
        return None
    seeds = [coerce_value("seeds", s.strip(), int) for s in text.split(",") if s.strip()]
    if not seeds:
        raise ConfigError("--seeds: give one or more seeds, e.g. --seeds 0,1,2", field="seeds")
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"--seeds {text}: a seed is repeated", field="seeds")
    for s in seeds:
        check_seed("a seed", s, field="seeds")
    return seeds
