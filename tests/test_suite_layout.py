"""The suite's own layout: a test module gets fixtures by name and shared code from a helper module.

No test module imports another test module (its tests would be collected twice, and the two
modules would change together), and none imports conftest.py (pytest loads it as a plugin: an
import loads it a second time, as another module). What tests share that is not a fixture lives
in tests/helpers.py and tests/event_driver.py. Imports are read from the source with `ast`, lazy
ones inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module `path` imports, anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module is not None:
                found.add(node.module.split(".")[0])
            elif node.level:  # `from . import test_x`
                found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module_or_conftest():
    not_importable = {path.stem for path in TESTS.rglob("test_*.py")} | {"conftest"}
    offences = sorted(
        f"{path.relative_to(TESTS)} imports {name}"
        for path in TESTS.rglob("*.py")
        for name in imported_modules(path) & not_importable
    )
    assert offences == [], "move what they share to tests/helpers.py (or event_driver.py):\n" + "\n".join(offences)


def test_the_check_sees_every_kind_of_import(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "import conftest\n"
        "from test_dashboard import chromium_path\n"
        "def later():\n"
        "    import test_matrix.sub\n"
        "from . import test_joints\n"
        "import helpers, event_driver\n"
    )
    assert imported_modules(module) == {
        "conftest",
        "test_dashboard",
        "test_matrix",
        "test_joints",
        "helpers",
        "event_driver",
    }
