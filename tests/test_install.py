"""The project installs as a package with working commands, and `check` names a missing requirement in one line.

Both run real interpreters and a real `pip install` (its build backend comes from the
package registry, as for anyone installing the project). The fresh virtualenv sees the
pinned requirements of the test environment through a .pth file (`--no-deps`): they
are what `pip install .` would fetch, and fetching the whole tree again would only test
the registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pizza_agent import __version__
from pizza_agent.config.settings import PROJECT_DIR

pytestmark = pytest.mark.slow  # a fresh virtualenv, pip, agent.py

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "data", "test-artifacts", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".ruff_cache"
)


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def clean_env(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), "ENV_FILE": ""}
    env.update(extra)
    return env


def test_pip_install_in_a_fresh_virtualenv_gives_pizza_agent_and_pizza_chat(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(PROJECT_DIR, source, ignore=IGNORE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--upgrade-deps", str(venv)], check=True, timeout=300)
    env = clean_env()
    installed = run(
        str(venv / "bin" / "pip"),
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        str(source),
        cwd=tmp_path,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = next((venv / "lib").glob("python3*/site-packages"))  # the requirements, after the build
    (site / "test-requirements.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "an-organizers-folder"  # no checkout here: the installed package alone
    elsewhere.mkdir()
    assert run(str(venv / "bin" / "pizza-agent"), "--version", cwd=elsewhere, env=env).stdout.strip() == (
        f"pizza-agent {__version__}"
    )
    assert run(str(venv / "bin" / "pizza-chat"), "--version", cwd=elsewhere, env=env).stdout.strip() == (
        f"pizza-chat {__version__}"
    )
    check = run(str(venv / "bin" / "pizza-agent"), "check", "--timeout", "1", cwd=elsewhere, env=env)
    assert check.returncode == 1, check.stdout + check.stderr  # would start, degraded: no keys here
    assert "ok    dependencies:" in check.stdout
    assert f"static content: 12 prompts, {venv}/share/pizza-agent/static_content" in check.stdout
    assert "shipped: ar, de, en, es, fr, hi, pt, zh" in check.stdout  # the language files are installed too
    assert f"data directory: {elsewhere}/data" in check.stdout  # the working folder, not site-packages


def test_check_with_a_requirement_uninstalled_exits_2_in_one_line(tmp_path):
    """The test environment's packages, less segno, seen by the bare interpreter (the venv is not touched)."""
    packages = tmp_path / "site-packages-without-segno"
    packages.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith("segno"):
            (packages / entry.name).symlink_to(entry)
    env = clean_env(PYTHONPATH=str(packages), PYTHONNOUSERSITE="1", DATA_DIR=str(tmp_path / "data"))
    check = run(sys._base_executable, str(PROJECT_DIR / "agent.py"), "check", cwd=tmp_path, env=env)
    assert check.returncode == 2
    assert check.stdout == ""
    assert check.stderr.splitlines() == [
        "error: segno 1.6.6 is not installed: run `make setup` (or pip install -r requirements.txt)"
    ]
