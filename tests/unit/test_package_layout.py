"""Where things live: rules of the package's layout that a reader relies on.

- harness.logs reads benchmark_model output and knows nothing of devices: a
  log pasted from logcat and a trial pulled from a phone are read by the same
  code, so the reader stands without the packages that drive a phone, neither
  in its own import lines (any of them, inside functions too) nor through what
  those import.
- Test support (tests/support/) is not part of the product: nothing in
  harness/ imports it.
- Every exception class lives in harness/errors.py, so the hierarchy is read
  in one place. The programs the simulated phone runs (harness/sim/tools/)
  are programs of their own, and an interrupt (SIGTERM as KeyboardInterrupt)
  is not an error.
- `import harness.cli` (every command module) loads neither the device stack
  (harness.device.adb checks the adb environment as it loads, and that error
  must come from inside a command), nor the simulated device, nor pandas,
  scipy, jinja2, matplotlib or TensorFlow: `harness --help` stays light.
- Code, tests and benchmarks say what they check, not which tracker issue
  (by number) asked for it: a reader of the code cannot follow the number.
- The simulated device is a neighbour: only harness/sim/ and harness/cli/
  import it; the rest reaches it as a device source (`harness.device.sources`)
  and then as any phone over TCP.
- No two modules import each other, directly or around a circle: each module
  sits above what it imports, so it can be read after them. A package's
  `__init__` that re-exports its modules' names is left out (importing a
  package is importing its public face, not a module of it).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
LOGS = HARNESS / "logs"
DEVICE_SIDE = ("harness.bench", "harness.device", "harness.stages", "harness.sim")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache  # a file's nodes, walked once however many of its imports are looked at
def _nodes(path: Path) -> tuple[ast.AST, ...]:
    return tuple(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def _imported(path: Path) -> set[str]:
    """Every module an import statement of `path` names, wherever the statement is."""
    names: set[str] = set()
    for node in _nodes(path):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_of_logs_imports_the_device_side() -> None:
    modules = sorted(LOGS.glob("*.py"))
    assert len(modules) > 5
    found = {
        f"{path.name}: {name}"
        for path in modules
        for name in _imported(path)
        if name.startswith(DEVICE_SIDE)
    }
    assert found == set()


def test_importing_every_logs_module_loads_nothing_of_the_device_side() -> None:
    names = sorted(f"harness.logs.{path.stem}" for path in LOGS.glob("*.py"))
    code = (
        f"import sys, {', '.join(names)}; "
        f"print(sorted(m for m in sys.modules if m.startswith({DEVICE_SIDE!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_nothing_in_the_package_imports_test_support() -> None:
    modules = sorted(HARNESS.rglob("*.py"))
    assert len(modules) > 100
    found = {
        f"{path.relative_to(HARNESS)}: {name}"
        for path in modules
        for name in _imported(path)
        if name == "tests" or name.startswith("tests.")
    }
    assert found == set()


def test_every_exception_class_is_defined_in_errors() -> None:
    outside = []
    for info in pkgutil.walk_packages(harness.__path__, "harness."):
        if info.name.endswith(".__main__") or info.name.startswith("harness.sim.tools"):
            continue  # runs the CLI on import / programs run on the simulated phone
        module = importlib.import_module(info.name)
        outside += [
            f"{info.name}.{name}"
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and issubclass(obj, Exception)
            and obj.__module__ == info.name != "harness.errors"
        ]
    assert outside == []


def test_no_issue_numbers_in_code_tests_or_benchmarks() -> None:
    pattern = re.compile(r"\bissue #?\d+", re.IGNORECASE)
    files = [p for top in ("harness", "tests", "benchmarks") for p in (ROOT / top).rglob("*.py")]
    assert len(files) > 200
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_the_command_line_starts_without_the_device_stack_or_heavy_modules() -> None:
    kept_out = (
        "harness.device.adb", "adbutils", "harness.sim.device",
        "pandas", "scipy", "jinja2", "matplotlib", "tensorflow",
    )  # fmt: skip
    code = f"import sys, harness.cli; print(sorted(m for m in {kept_out!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_only_the_simulator_and_the_command_line_import_the_simulator() -> None:
    outside = [
        p for p in HARNESS.rglob("*.py") if p.relative_to(HARNESS).parts[0] not in ("sim", "cli")
    ]
    assert len(outside) > 100
    found = {
        f"{path.relative_to(HARNESS)}: {name}"
        for path in outside
        for name in _imported(path)
        if name == "harness.sim" or name.startswith("harness.sim.")
    }
    assert found == set()


def test_no_import_circles_between_modules() -> None:
    paths = {_module(p): p for p in HARNESS.rglob("*.py") if p.name != "__init__.py"}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for imported in _imported(path):
            # `from harness.x import y` names module harness.x.y when y is one.
            for candidate in (imported, *(f"{imported}.{n}" for n in _names(path, imported))):
                if candidate in paths and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    circles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        seen = {start}
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    circles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert circles == []


def _names(path: Path, module: str) -> set[str]:
    """The names `from module import ...` statements of `path` bring in."""
    return {
        alias.name
        for node in _nodes(path)
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }
