"""The layers of dd_core, read from the source (AST): every import points down (or within its own layer) and no
import cycle exists, function-local imports included. docs/design.md draws the same picture."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# bottom → top; a module may import from its own layer or any layer below it
LAYERS: list[tuple[str, ...]] = [
    ("errors", "paths", "labels"),
    ("config", "events", "reference_results", "data", "augment", "device", "synthetic", "grids"),
    ("nets",),
    ("evaluate", "flops"),
    ("methods",),
    ("runner", "baseline", "bench", "reference"),
    ("spec",),
    ("presets", "experiments", "jobs"),
    ("runs",),
    ("report", "sweeps"),
    ("cli", "ui", "__main__"),
    ("pages", "app"),  # outside the package: pages/*.py, app.py
]
RANK = {name: i for i, group in enumerate(LAYERS) for name in group}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """'dd_core.methods.dm' → 'methods'; 'pages.distill' → 'pages'; 'app' → 'app'; other packages → None."""
    parts = module.split(".")
    if parts[0] == "dd_core":
        return parts[1] if len(parts) > 1 else None
    return parts[0] if parts[0] in ("pages", "app") else None


def imports_of(path: Path) -> set[str]:
    """Every dd_core module ``path`` imports, at module level or inside functions, relative imports resolved."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # 'from . import folder' names the module dd_core.data.folder; 'from .nets import build_net' resolves
            # to dd_core.nets (see resolve)
            found.update(f"{target}.{a.name}" for a in node.names if target.startswith("dd_core"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dd_core"))
    return found


def source_files() -> list[Path]:
    return sorted([*(ROOT / "dd_core").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"])


def known_modules() -> set[str]:
    return {module_name(p) for p in source_files()}


def resolve(name: str, known: set[str]) -> str | None:
    """'dd_core.nets.build_net' → 'dd_core.nets' (the longest prefix that is a module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    known = known_modules()
    graph: dict[str, set[str]] = {}
    for path in source_files():
        me = module_name(path)
        targets = {resolve(n, known) for n in imports_of(path)}
        graph[me] = {t for t in targets if t and t != me}
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in graph.items():
        src_layer = layer_of(src)
        if src_layer is None:
            continue
        for dst in sorted(targets):
            dst_layer = layer_of(dst)
            if dst_layer is None:  # the package's own __init__: imports nothing
                continue
            if src_layer not in RANK or dst_layer not in RANK:
                bad.append(f"{src} -> {dst}: {src_layer if src_layer not in RANK else dst_layer} has no layer")
            elif RANK[dst_layer] > RANK[src_layer]:
                bad.append(f"{src} ({src_layer}) imports {dst} ({dst_layer}), a higher layer")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    missing = sorted({layer_of(m) for m in known_modules()} - set(RANK) - {None})
    assert not missing, f"add these to LAYERS in {Path(__file__).name}: {missing}"


def test_imports_point_down_the_layers():
    bad = upward_imports(import_graph())
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize(
    "src, line",
    [
        ("dd_core/config.py", "from .runner import run_distillation"),
        ("dd_core/nets/factory.py", "from ..methods import METHODS"),
    ],
)
def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path, src, line):
    """The test must be able to fail: copy the package, add one upward import, and see both checks complain."""
    import shutil

    for name in ("dd_core", "pages"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    target = tmp_path / src
    target.write_text(target.read_text() + f"\n\ndef _late():\n    {line}\n")
    globals()["ROOT"] = tmp_path
    try:
        graph = import_graph()
        assert upward_imports(graph), "the upward import went unnoticed"
        assert cycles(graph), "the cycle went unnoticed"
    finally:
        globals()["ROOT"] = Path(__file__).resolve().parents[1]
