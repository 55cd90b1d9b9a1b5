"""The layout is the architecture: rooms import only what `pizza_agent.ROOMS` allows, and nothing cycles.

`pizza_agent.ROOMS` is the one machine-read list of room rules: this test reads
it, and checks docs/architecture.md's "may import" column against it. Imports
are read from the source with `ast` (every `import`, lazy ones inside
functions and TYPE_CHECKING blocks included), so a cycle hidden behind a late
import still fails here, naming the modules in the cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pizza_agent import ROOMS
from pizza_agent.config.settings import PROJECT_DIR

FACES = {"agent", "chat", "openai_functions", "asi1_client"}  # the top-level public faces
MAX_TOP_LEVEL_MODULES = 5
# uagents' private attributes the workarounds reach (and any other private name of an Agent or its server).
UAGENTS_PRIVATE = frozenset(
    {
        "_server",
        "_dispenser",
        "_mailbox_client",
        "_resolver",
        "_agentverse",
        "_identity",
        "_logger",
        "_rest_handler_map",
        "_update_agent_status",
        "_almanac_contract",
        "_signed_message_handlers",
        "_unsigned_message_handlers",
        "_registration_policy",
        "_message_queue",
        "_queries",
    }
)


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


def wrong_room_imports(graph: dict[str, set[str]], rules: dict[str, frozenset[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        room = room_of(module)
        if room is None:
            continue
        for target in targets:
            other = room_of(target)
            if other is not None and other != room and other not in rules[room]:
                wrong.append(f"{module} imports {target} ({room} may not import {other})")
    return wrong


def test_each_room_imports_only_the_rooms_the_rules_allow():
    wrong = wrong_room_imports(import_graph(), ROOMS)
    assert not wrong, "\n".join(wrong)


def test_the_rule_check_catches_a_room_importing_what_it_may_not():
    graph = {"pizza_agent.ledger.store": {"pizza_agent.llm.service"}, "pizza_agent.llm.service": set()}
    assert wrong_room_imports(graph, {"ledger": frozenset({"config"}), "llm": frozenset()}) == [
        "pizza_agent.ledger.store imports pizza_agent.llm.service (ledger may not import llm)"
    ]


def test_the_transport_and_the_ledger_stay_small_in_what_they_know():
    assert len(ROOMS["transport"]) <= 3
    assert ROOMS["ledger"] <= {"config", "domain"}
    assert ROOMS["domain"] == frozenset()


# --- private uagents attributes live in workarounds/ only ----------------------------------------
def private_uagents_uses(path: Path) -> list[str]:
    """`x._server`-style reaches into uagents, and assignments to a uagents module's globals."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in UAGENTS_PRIVATE:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in {"self", "cls"}):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and ast.unparse(target).startswith("uagents."):
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(target)} =")
    return found


def test_private_uagents_attributes_are_touched_only_in_workarounds():
    workarounds = PROJECT_DIR / "pizza_agent" / "workarounds"
    wrong = [
        use
        for path in project_modules().values()
        if not path.is_relative_to(workarounds)
        for use in private_uagents_uses(path)
    ]
    assert not wrong, "private uagents attributes outside workarounds/ (call a named function there): " + ", ".join(
        wrong
    )


def test_the_private_attribute_check_sees_a_reach_in(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import uagents.asgi\ndef f(agent):\n    agent._server.x = 1\n    uagents.asgi.HOST = 'h'\n")
    assert sorted(private_uagents_uses(source)) == ["m.py:3 ._server", "m.py:4 uagents.asgi.HOST ="]


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


def documented_rules(architecture: str) -> dict[str, frozenset[str]]:
    """docs/architecture.md's room table: room -> its "may import" column."""
    rules = {}
    for line in architecture.splitlines():
        if line.startswith("| `pizza_agent/"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            room = cells[0].strip("`").removeprefix("pizza_agent/").rstrip("/")
            may = cells[-1]
            rules[room] = frozenset() if may == "nothing of ours" else frozenset(m.strip(" `") for m in may.split(","))
    return rules


def test_the_architecture_doc_states_the_same_rules():
    documented = documented_rules((PROJECT_DIR / "docs" / "architecture.md").read_text())
    assert documented == dict(ROOMS), {
        room: (sorted(documented.get(room, ())), sorted(ROOMS.get(room, ())))
        for room in set(documented) | set(ROOMS)
        if documented.get(room) != ROOMS.get(room)
    }


def test_a_doc_that_disagrees_with_the_rules_is_caught():
    doc = "| `pizza_agent/ledger/` | the ledger | config, llm |\n| `pizza_agent/config/` | settings | nothing of ours |"
    assert documented_rules(doc) == {"ledger": frozenset({"config", "llm"}), "config": frozenset()}
    assert documented_rules(doc) != {"ledger": ROOMS["ledger"], "config": ROOMS["config"]}


def test_every_room_is_documented_and_the_top_level_stays_small():
    top_level = sorted(path.name for path in PROJECT_DIR.glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
    rooms = {p.name for p in (PROJECT_DIR / "pizza_agent").iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ROOMS)
    architecture = (PROJECT_DIR / "docs" / "architecture.md").read_text()
    for room in rooms:
        docstring = ast.get_docstring(ast.parse((PROJECT_DIR / "pizza_agent" / room / "__init__.py").read_text()))
        assert docstring, f"pizza_agent/{room}/__init__.py must say what the room owns"
        assert "May import" not in docstring, f"pizza_agent/{room}/__init__.py repeats the rules (ROOMS has them)"
    rows = {line.split("|")[1].strip(" `"): line for line in architecture.splitlines() if line.startswith("| `pizza")}
    for module in project_modules().values():
        if module.name != "__init__.py" and module.is_relative_to(PROJECT_DIR / "pizza_agent"):
            room = f"pizza_agent/{module.parent.name}/"
            assert f"`{module.name}`" in rows.get(room, ""), (
                f"docs/architecture.md's {room} row does not name {module.name}"
            )


# --- the code stays readable as it grows ------------------------------------------------------------
MAX_METHODS = 25
MAX_FUNCTION_LINES = 60
# Every room that runs at the event (the rehearsal tools are measured by what they rehearse).
PRODUCT_ROOMS = tuple(sorted(room for room in ROOMS if room != "rehearsal"))
NEAREST = 5  # printed beside each limit: what is growing towards it


def product_modules() -> list[Path]:
    rehearsal = PROJECT_DIR / "pizza_agent" / "rehearsal"
    return [path for path in (PROJECT_DIR / "pizza_agent").rglob("*.py") if not path.is_relative_to(rehearsal)]


def class_sizes() -> list[tuple[int, str]]:
    """(methods, where) for every product class, largest first."""
    sizes = []
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
                sizes.append((len(methods), f"{path.relative_to(PROJECT_DIR)}:{node.name}"))
    return sorted(sizes, reverse=True)


def function_lengths() -> list[tuple[int, str]]:
    """(lines, where) for every product function and method, nested ones included, longest first."""
    lengths = []
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                lengths.append((lines, f"{path.relative_to(PROJECT_DIR)}:{node.name}"))
    return sorted(lengths, reverse=True)


def nearest(sizes: list[tuple[int, str]], unit: str, limit: int) -> str:
    return f"nearest the limit of {limit} {unit}: " + ", ".join(f"{where} {n}" for n, where in sizes[:NEAREST])


def test_no_product_class_has_more_than_25_methods():
    sizes = class_sizes()
    print(nearest(sizes, "methods", MAX_METHODS))  # shown with `pytest -rP`: what is growing
    big = [f"{where} has {n}" for n, where in sizes if n > MAX_METHODS]
    assert not big, big


def test_no_product_function_is_longer_than_60_lines_in_any_room():
    lengths = function_lengths()
    print(nearest(lengths, "lines", MAX_FUNCTION_LINES))  # shown with `pytest -rP`: what is growing
    long = [f"{where} {n} lines" for n, where in lengths if n > MAX_FUNCTION_LINES]
    assert not long, long


def test_the_limits_cover_every_room_that_runs_at_the_event():
    measured = {path.relative_to(PROJECT_DIR / "pizza_agent").parts[0] for path in product_modules()}
    assert set(PRODUCT_ROOMS) <= measured | {"__init__.py"}
    assert {"llm", "web", "domain"} <= set(PRODUCT_ROOMS)


def test_no_path_outside_the_repository_is_cited():
    """Code and docs stand on their own: no reference to a folder beside the repository."""
    cited = []
    for path in [*PROJECT_DIR.joinpath("pizza_agent").rglob("*.py"), *PROJECT_DIR.joinpath("docs").rglob("*.md")]:
        cited += [f"{path.name}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if "shared/" in line]
    cited += [
        f"README.md:{n}"
        for n, line in enumerate((PROJECT_DIR / "README.md").read_text().splitlines(), 1)
        if "shared/" in line
    ]
    assert not cited, cited


def test_every_defect_number_in_the_code_has_a_section_in_the_framework_defects_doc():
    doc = (PROJECT_DIR / "docs" / "framework-defects.md").read_text()
    sections = set(re.findall(r"^## Defect (\d+[a-e]?)\b", doc, re.MULTILINE))
    cited: set[str] = set()
    for path in [*PROJECT_DIR.joinpath("pizza_agent").rglob("*.py"), *PROJECT_DIR.joinpath("tests").glob("*.py")]:
        for match in re.finditer(r"[Dd]efects? ((?:\d+[a-e]?(?:-\d+)?(?:, | and )?)+)", path.read_text()):
            for part in re.split(r", | and ", match.group(1)):
                if "-" in part:
                    low, high = part.split("-")
                    cited.update(str(n) for n in range(int(low), int(high) + 1))
                elif part:
                    cited.add(part)
    assert cited, "the scan found no defect numbers at all"
    assert cited <= sections, f"defects cited with no section in docs/framework-defects.md: {sorted(cited - sections)}"
