"""The shape of the code: one way the layers depend on each other.

Packages (``backend.<name>``, each top-level module counting as its own package) must not import each
other in a cycle -- imports inside functions included, since they only hide a cycle. ``backend`` never
imports gradio; ``ui`` talks to the backend only (never the reverse).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"


def unit_of(module: str) -> str:
    """``backend.iqa.promptiqa.model`` -> ``backend.iqa``; ``backend.scoring`` -> ``backend.scoring``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in BACKEND.rglob("*.py"):
        source = unit_of(module_name(path))
        for target in imported_modules(path):
            if target.startswith("backend.") and unit_of(target) != source:
                graph[source].add(unit_of(target))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_backend_packages():
    cycle = find_cycle(package_graph())
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_backend_never_imports_gradio_or_ui():
    offenders = [str(path.relative_to(REPO)) for path in BACKEND.rglob("*.py")
                 if any(name.split(".")[0] in ("gradio", "ui") for name in imported_modules(path))]
    assert offenders == []


def test_models_and_store_do_not_import_services_or_interfaces():
    """Interfaces (CLI, tabs) -> services -> models and store: the lower layers never import upwards."""
    services = {"backend.scoring", "backend.leaderboard", "backend.campaign_scores"}
    lower = ("backend.store", "backend.scaling", "backend.segmentation", "backend.data", "backend.protocols",
             "backend.registry", "backend.weights", "backend.settings", "backend.images")
    offenders = []
    for path in BACKEND.rglob("*.py"):
        source = module_name(path)
        if unit_of(source) in lower:
            offenders += [f"{source} -> {t}" for t in imported_modules(path) if unit_of(t) in services]
    assert offenders == []
