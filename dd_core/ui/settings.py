"""Settings the dashboard remembers between sessions (``<data home>/ui_settings.json``): dataset folders."""

from __future__ import annotations

import json
from pathlib import Path

from dd_core.paths import atomic_path, data_home


def settings_path() -> Path:
    return data_home() / "ui_settings.json"


def load_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_setting(section: str, key: str, value) -> None:
    data = load_settings()
    data.setdefault(section, {})
    if data[section].get(key) == value:
        return
    data[section][key] = value
    with atomic_path(settings_path()) as tmp:
        tmp.write_text(json.dumps(data, indent=2))


def dataset_path(name: str) -> str | None:
    """The remembered folder of a path dataset (MHIST, folder)."""
    return (load_settings().get("paths") or {}).get(name) or None


def dataset_options_for(name: str) -> dict:
    """Dataset options a run of ``name`` needs here (the remembered path of MHIST / folder)."""
    from dd_core.data.registry import PATH_DATASETS

    p = dataset_path(name) if name in PATH_DATASETS else None
    return {"path": p} if p else {}
