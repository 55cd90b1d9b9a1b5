"""Each room has a surface: the names in its `__init__`'s `__all__` are all another room may import.

A room's own modules use each other freely; across rooms, `from pizza_agent.ROOM.module import
NAME` (or `from pizza_agent.ROOM import NAME`) must name something on ROOM's surface, from the
module the surface says, and never an underscore name. Imports are read from the source with
`ast`, lazy ones inside functions included. The top-level faces (agent.py, …) count as importers
too; the tests do not (they may reach anything they test).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

from pizza_agent import ROOMS
from pizza_agent.config.settings import PROJECT_DIR


def surface_of(room: str) -> dict[str, str]:
    """NAME -> the module of ROOM it comes from, as the room's `__init__` declares it."""
    tree = ast.parse((PROJECT_DIR / "pizza_agent" / room / "__init__.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "room_surface":
            declared = ast.literal_eval(node.args[1])
            return {name: module for module, names in declared.items() for name in names}
    return {}


def cross_room_imports(path: Path, root: Path = PROJECT_DIR) -> list[tuple[int, str, str, str]]:
    """(line, room, module or "", name) for every name `path` imports from a room other than its own."""
    parts = path.relative_to(root).with_suffix("").parts
    own = parts[1] if parts[0] == "pizza_agent" and len(parts) > 2 else None
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pizza_agent."):
            room, *module = node.module.split(".")[1:]
            if room != own:
                found += [(node.lineno, room, ".".join(module), alias.name) for alias in node.names]
    return found


def surface_breaches(paths: list[Path], surfaces: dict[str, dict[str, str]], root: Path = PROJECT_DIR) -> list[str]:
    wrong = []
    for path in paths:
        for line, room, module, name in cross_room_imports(path, root):
            where = f"{path.relative_to(root)}:{line} imports {name} from pizza_agent.{room}"
            declared = surfaces.get(room, {})
            if name.startswith("_"):
                wrong.append(f"{where}: an underscore name is never on a surface")
            elif name not in declared:
                wrong.append(f"{where}: not on {room}'s surface (pizza_agent/{room}/__init__.py)")
            elif module and declared[name] != module and module != name:
                wrong.append(f"{where}.{module}: its surface says it lives in {declared[name]}")
    return wrong


def importers() -> list[Path]:
    return [*PROJECT_DIR.joinpath("pizza_agent").rglob("*.py"), *PROJECT_DIR.glob("*.py")]


# --- the specification -------------------------------------------------------------
def test_every_cross_room_import_names_something_on_that_rooms_surface():
    surfaces = {room: surface_of(room) for room in ROOMS}
    wrong = surface_breaches(importers(), surfaces)
    assert not wrong, "\n".join(wrong)


def test_every_name_on_a_surface_exists_and_is_importable_from_the_room():
    missing = []
    for room in ROOMS:
        package = importlib.import_module(f"pizza_agent.{room}")
        for name, module in surface_of(room).items():
            assert not name.startswith("_"), f"{room}'s surface names an underscore name: {name}"
            try:
                value = getattr(package, name)
            except (AttributeError, ImportError) as exc:
                missing.append(f"pizza_agent.{room}: {name} from {module}: {exc}")
                continue
            if module != name:
                assert value is getattr(importlib.import_module(f"pizza_agent.{room}.{module}"), name)
        assert sorted(package.__all__) == sorted(surface_of(room))
    assert not missing, "\n".join(missing)


def test_the_surface_check_catches_a_private_name_an_unlisted_name_and_a_wrong_module(tmp_path):
    module = tmp_path / "pizza_agent" / "web" / "page.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from pizza_agent.ledger.coupons import _private\n"
        "from pizza_agent.ledger.coupons import Unlisted\n"
        "from pizza_agent.ledger.store import Coupon\n"
        "from pizza_agent.ledger.coupons import Coupon\n"
        "from pizza_agent.web.other import Anything\n"
    )
    wrong = surface_breaches([module], {"ledger": {"Coupon": "coupons"}}, tmp_path)
    assert wrong == [
        "pizza_agent/web/page.py:1 imports _private from pizza_agent.ledger: an underscore name is never on a surface",
        "pizza_agent/web/page.py:2 imports Unlisted from pizza_agent.ledger: not on ledger's surface "
        "(pizza_agent/ledger/__init__.py)",
        "pizza_agent/web/page.py:3 imports Coupon from pizza_agent.ledger.store: its surface says it lives in coupons",
    ]


def test_a_room_is_importable_without_importing_its_whole_surface():
    """The surface is lazy (PEP 562): importing one module of a room does not import the room's others."""
    probe = (
        "import sys, pizza_agent.llm.errors as e\n"
        "print('pizza_agent.llm.service' in sys.modules)\n"
        "from pizza_agent.llm import LLMService\n"
        "print('pizza_agent.llm.service' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_DIR, check=True)
    assert run.stdout.split() == ["False", "True"]
