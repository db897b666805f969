"""The shape of the package, checked on every run so it cannot drift.

- no module over 400 lines and no function over 60;
- no import cycle between modules (imports at module level, as Python runs them);
- every package says in its docstring what its one job is;
- only lab.db.dialects tells MySQL from MariaDB;
- the checker, usable against any servers, does not load the Docker client.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lab"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = modules()


def imports(path: Path) -> set[str]:
    """Modules of the lab that `path` imports when it is loaded (not inside functions or TYPE_CHECKING)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("lab"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else str(node.module))
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("lab")}
    return {name for name in found if name in MODULES}


def test_no_module_or_function_is_too_long() -> None:
    too_long = []
    for name, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert not too_long


def test_no_import_cycle() -> None:
    graph = {name: imports(path) - {name} for name, path in MODULES.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            cycle = visit(node)
            assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("package", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_every_package_says_what_its_job_is(package: str) -> None:
    if package == "lab":
        return
    docstring = ast.get_docstring(ast.parse(MODULES[package].read_text()))
    assert docstring and len(docstring.split()) >= 5, package


def test_only_the_dialects_tell_mysql_from_mariadb() -> None:
    leaks = [name for name, path in MODULES.items() if not name.startswith("lab.db.dialects")
             and any(f"isinstance({word}" in path.read_text().replace(" ", "") or word in path.read_text()
                     for word in ("MySQLDialect", "MariaDBDialect"))]
    assert not leaks


def test_the_checker_does_not_load_the_docker_client() -> None:
    """`import lab.checker` reads servers through lab.db.sql and lab.db.dialects; the lab's container modules
    (and docker, requests) cost about 20 MB of every check's RSS, so they stay out (a fresh interpreter)."""
    probe = ("import sys, lab.checker, lab.checker.repair, lab.checker.targets; "
             "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith(('docker.', 'lab.db.lab'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=PACKAGE.parent)
    assert done.stdout.strip() == "[]", done.stdout
