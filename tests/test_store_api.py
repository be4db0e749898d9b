"""The run store's API is what the app uses: every public RunStore method is called somewhere in dd_core (outside
the store), the pages or app.py. A method only the tests call is dead weight the tests keep alive; tests use the
real API instead."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from dd_core.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]


def _attributes_used() -> set[str]:
    files = [p for p in (ROOT / "dd_core").rglob("*.py") if p != ROOT / "dd_core" / "runs" / "store.py"]
    files += [*(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    used: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute):
                used.add(node.attr)
    return used


def test_every_public_store_method_has_a_caller_in_the_app():
    methods = {name for name, _ in inspect.getmembers(RunStore, inspect.isfunction) if not name.startswith("_")}
    unused = sorted(methods - _attributes_used())
    assert not unused, f"RunStore methods no app code calls (delete them, or use them): {unused}"
