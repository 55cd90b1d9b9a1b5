"""The layout is the architecture: rooms import only what their docstring allows, and nothing cycles.

Imports are read from the source with `ast` (every `import`, lazy ones inside
functions and TYPE_CHECKING blocks included), so a cycle hidden behind a late
import still fails here, naming the modules in the cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pizza_agent.config.settings import PROJECT_DIR

FACES = {"agent", "chat", "openai_functions", "asi1_client"}  # the top-level public faces
ROOMS_BELOW = {
    # room: the rooms of ours it may import (docs/architecture.md)
    "config": set(),
    "llm": {"config"},
    "ledger": {"config", "llm"},
    "event": {"config", "llm", "ledger"},
    "workarounds": {"config"},
    "web": {"config", "llm", "ledger", "event"},
    "transport": {"config", "llm", "ledger", "event", "workarounds", "web"},
    "app": {"config", "llm", "ledger", "event", "workarounds", "transport", "web"},
    "rehearsal": {"config", "llm", "ledger", "event", "workarounds", "transport", "app", "web"},
}
MAX_TOP_LEVEL_MODULES = 5


def project_modules() -> dict[str, Path]:
    modules = {path.stem: path for path in PROJECT_DIR.glob("*.py")}
    for path in (PROJECT_DIR / "pizza_agent").rglob("*.py"):
        parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle's modules in import order (one per strongly connected component), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(_ordered_cycle(graph, set(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _ordered_cycle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """One concrete path through the component that returns to its start: a → b → … → a."""
    start = min(members)
    path, seen = [start], {start}
    while True:
        step = sorted(graph[path[-1]] & members)
        back = start in step
        fresh = [m for m in step if m not in seen]
        if not fresh or (back and len(path) > 1):
            return [*path, start]
        path.append(fresh[0])
        seen.add(fresh[0])


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pizza_agent" and len(parts) > 2 else None


# --- the specification -------------------------------------------------------------
def test_there_are_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" → ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_names_a_cycle_it_is_shown():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_lazy_imports_count_as_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pizza_agent.llm import service\n")
    assert imports_of(source, "m", {"pizza_agent.llm", "pizza_agent.llm.service"}) == {"pizza_agent.llm.service"}


def test_each_room_imports_only_the_rooms_its_docstring_allows():
    wrong = []
    for module, targets in import_graph().items():
        room = room_of(module)
        if room is None:
            continue
        for target in targets:
            other = room_of(target)
            if other is not None and other != room and other not in ROOMS_BELOW[room]:
                wrong.append(f"{module} imports {target} ({room} may not import {other})")
    assert not wrong, "\n".join(wrong)


def test_the_package_never_imports_the_top_level_faces():
    wrong = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.startswith("pizza_agent")
        for target in targets & FACES
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_that_runs_at_the_event_imports_the_rehearsal_tools():
    wrong = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.startswith("pizza_agent") and room_of(module) != "rehearsal"
        for target in targets
        if room_of(target) == "rehearsal"
    ]
    assert not wrong, "\n".join(wrong)


def test_every_room_is_documented_and_the_top_level_stays_small():
    top_level = sorted(path.name for path in PROJECT_DIR.glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
    rooms = {p.name for p in (PROJECT_DIR / "pizza_agent").iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ROOMS_BELOW)
    architecture = (PROJECT_DIR / "docs" / "architecture.md").read_text()
    for room in rooms:
        docstring = ast.get_docstring(ast.parse((PROJECT_DIR / "pizza_agent" / room / "__init__.py").read_text()))
        assert docstring and "May import" in docstring, f"pizza_agent/{room}/__init__.py must say what it may import"
        assert f"pizza_agent/{room}/" in architecture, f"docs/architecture.md does not describe {room}"
    rows = {line.split("|")[1].strip(" `"): line for line in architecture.splitlines() if line.startswith("| `pizza")}
    for module in project_modules().values():
        if module.name != "__init__.py" and module.is_relative_to(PROJECT_DIR / "pizza_agent"):
            room = f"pizza_agent/{module.parent.name}/"
            assert f"`{module.name}`" in rows.get(room, ""), (
                f"docs/architecture.md's {room} row does not name {module.name}"
            )
