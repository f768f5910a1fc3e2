"""Every module of signaling, media, web and casebook imports on its own, and none is in a cycle.

A cycle of imports works or fails by who is imported first (`import casebook.workflow` alone
failed while the app, importing `casebook.models` first, ran), so each module is imported alone
in a fresh interpreter, and the graph of module-level imports must have no cycle at all.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("signaling", "media", "web", "casebook")


def package_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name -> file, for every module of `packages` under `root`.

    Only directories with an `__init__.py` are packages: the Alembic scripts in
    `casebook/migrations` are loaded by Alembic, never imported as modules.
    """
    modules: dict[str, Path] = {}

    def walk(directory: Path, prefix: str) -> None:
        for path in sorted(directory.iterdir()):
            if path.is_dir() and (path / "__init__.py").is_file():
                walk(path, f"{prefix}.{path.name}")
            elif path.suffix == ".py":
                modules[prefix if path.stem == "__init__" else f"{prefix}.{path.stem}"] = path

    for package in packages:
        walk(root / package, package)
    return modules


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when a module is imported (not in functions or classes)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_level(block)
            for handler in node.handlers:
                yield from _module_level(handler.body)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The modules of `known` that importing module `name` (file `path`) imports first.

    `import a.b.c` runs `a`, `a.b` and `a.b.c`; the packages that contain `name` itself are
    already being imported when `name` runs, so they count only when `name` names them.
    """
    is_package = path.name == "__init__.py"
    named: set[str] = set()
    for node in _module_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                named.add(submodule if submodule in known else module)
    own = set(_ancestors(name))
    imported: set[str] = set()
    for target in named:
        if target in known and target != name:
            imported.add(target)
        imported.update(a for a in _ancestors(target) if a in known and a not in own and a != name)
    return imported


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules it imports at module level (only modules of `modules`)."""
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (strongly connected)."""
    reach = {module: _reachable(graph, module) for module in graph}
    grouped: set[str] = set()
    cycles = []
    for module in sorted(graph):
        if module in grouped:
            continue
        group = {module} | {other for other in reach[module] if module in reach[other]}
        grouped |= group
        if len(group) > 1:
            cycles.append(sorted(group))
    return cycles


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_modules_importing_each_other_through_a_package_are_a_cycle(tmp_path: Path) -> None:
    # The shape casebook.models had: the package imports its table module, which imports a
    # module outside the package that imports the package back.
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/models/__init__.py": "from pkg.models.cases import Case\n",
        "pkg/models/base.py": "Base = object\n",
        "pkg/models/cases.py": "from pkg.models.base import Base\nfrom pkg import workflow\n",
        "pkg/workflow.py": "from pkg.models.base import Base\n",
    })
    modules = package_modules(tmp_path, ["pkg"])
    graph = import_graph(modules)
    assert graph["pkg.workflow"] == {"pkg.models", "pkg.models.base"}
    assert import_cycles(graph) == [["pkg.models", "pkg.models.cases", "pkg.workflow"]]


def test_a_package_importing_its_own_modules_is_not_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "from pkg.rooms import Room\nfrom . import grants\n",
        "pkg/rooms.py": "from .grants import Grant\n\nclass Room: ...\n",
        "pkg/grants.py": (
            "from typing import TYPE_CHECKING\n\n"
            "if TYPE_CHECKING:\n    from pkg.rooms import Room\n\n"
            "def grant():\n    from pkg.rooms import Room\n\n"
            "class Grant: ...\n"
        ),
        "pkg/data/notes.txt": "not a module",
        "pkg/scripts/env.py": "import pkg\n",
    })
    modules = package_modules(tmp_path, ["pkg"])
    assert sorted(modules) == ["pkg", "pkg.grants", "pkg.rooms"]
    graph = import_graph(modules)
    assert graph == {"pkg": {"pkg.rooms", "pkg.grants"}, "pkg.rooms": {"pkg.grants"},
                     "pkg.grants": set()}
    assert import_cycles(graph) == []


def test_no_module_imports_another_in_a_circle() -> None:
    graph = import_graph(package_modules(ROOT, PACKAGES))
    cycles = import_cycles(graph)
    described = [
        {module: sorted(graph[module] & set(cycle)) for module in cycle} for cycle in cycles
    ]
    assert cycles == [], described


# Run in a fresh interpreter. It imports every third-party module that the modules of ours
# import (listed by a first child that imports them all), then forks one child per module of
# ours: each child starts with no module of ours loaded, exactly as a fresh interpreter would,
# without paying again for SQLAlchemy, aiohttp, aiortc and the rest.
ALONE = r"""
import importlib, json, os, sys, traceback

ours = tuple(json.loads(sys.argv[1]))
modules = json.loads(sys.stdin.read())


def is_ours(name):
    return name.split(".")[0] in ours


def in_child(job, report):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            job()
            message, status = report(), 0
        except BaseException as failed:
            message, status = traceback.format_exception_only(failed)[-1].strip(), 1
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(message)
        os._exit(status)
    os.close(write_end)
    return pid, read_end


def import_all():
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # reported when imported alone below


pid, read_end = in_child(import_all, lambda: json.dumps(sorted(
    name for name in sys.modules if not is_ours(name)
)))
with os.fdopen(read_end) as pipe:
    listed = pipe.read()
if os.waitpid(pid, 0)[1] == 0:
    for name in json.loads(listed):
        try:
            importlib.import_module(name)
        except Exception:
            pass  # a module of ours that needs it fails alone below, and says why
assert not any(is_ours(name) for name in sys.modules), "a third-party module imported ours"

failures, running, todo = {}, {}, list(modules)
while todo or running:
    while todo and len(running) < 2:  # the machines that run the suite have two cores
        module = todo.pop(0)
        pid, read_end = in_child(lambda: importlib.import_module(module), lambda: "")
        running[pid] = (module, read_end)
    pid, status = os.wait()
    module, read_end = running.pop(pid)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    if status != 0:
        failures[module] = message or f"wait status {status}"
print(json.dumps(failures))
"""


# Every module of ours is imported once per module that imports it: leave a loaded machine time.
@pytest.mark.timeout(600)
def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    modules = sorted(package_modules(ROOT, PACKAGES))
    done = subprocess.run(
        [sys.executable, "-c", ALONE, json.dumps(PACKAGES)],
        input=json.dumps(modules), cwd=ROOT, capture_output=True, text=True, timeout=570,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
