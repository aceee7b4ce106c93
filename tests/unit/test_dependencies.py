"""Every package the code imports is declared; constraints.txt pins the declared set.

A fresh machine installs only what pyproject.toml declares. A package that
arrives through another one (click through an old typer, numpy through pandas)
works here and breaks there the day that other package drops it, so the check
is by import, not by what happens to be installed.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package's own fallback, declared for 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(doc: dict[str, object], extra: str | None = None) -> list[Requirement]:
    project = doc["project"]
    assert isinstance(project, dict)
    lines = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines if not line.startswith("harness[")]


def _declared(reqs: Iterable[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in reqs}


def imported_modules(files: Iterable[Path], local: set[str]) -> dict[str, set[Path]]:
    """Top-level third-party modules imported by `files` (absolute imports only)."""
    found: dict[str, set[Path]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, set()).add(path)
    return found


@cache  # it reads every installed distribution's file list: once per session, not per module
def _packages_distributions() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def distribution_of(module: str) -> set[str]:
    """The distributions that provide `module` here; its own name when none is installed."""
    provided = _packages_distributions().get(module)
    return {canonicalize_name(d) for d in provided} if provided else {canonicalize_name(module)}


def undeclared(modules: Iterable[str], declared: set[str]) -> list[str]:
    """The modules none of whose providing distributions is declared."""
    # tensorflow-cpu provides `tensorflow` on x86_64; `tensorflow` elsewhere: both are declared.
    return sorted(m for m in modules if not distribution_of(m) & declared)


def _py(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _local_test_modules() -> set[str]:
    # `tests` itself: the shared test support is imported as `tests.support.<module>`.
    stems = {p.stem for p in _py("tests")} | {p.stem for p in _py("benchmarks")}
    return stems | {"harness", "tests"}


def test_every_import_of_the_package_is_a_declared_dependency() -> None:
    declared = _declared(_requirements(_pyproject()))
    modules = imported_modules(_py("harness"), {"harness"})
    assert undeclared(modules, declared) == []


def test_every_import_of_tests_and_benchmarks_is_declared() -> None:
    doc = _pyproject()
    declared = _declared(_requirements(doc)) | _declared(_requirements(doc, "test"))
    modules = imported_modules([*_py("tests"), *_py("benchmarks")], _local_test_modules())
    assert undeclared(modules, declared) == []


def test_every_declared_runtime_dependency_is_imported() -> None:
    # A declaration nothing imports pins a package for no reason (and hides
    # which of its dependants really needs it).
    used: set[str] = set()
    for module in imported_modules(_py("harness"), {"harness"}):
        used |= distribution_of(module)
    tensorflows = {"tensorflow", "tensorflow-cpu"}
    if used & tensorflows:
        used |= tensorflows
    declared = _declared(_requirements(_pyproject()))
    assert sorted(declared - used) == []


def test_the_check_fails_for_an_undeclared_import(tmp_path: Path) -> None:
    # The check itself can fail: a module importing click, declared without it.
    source = tmp_path / "cli.py"
    source.write_text("import typer\nfrom click import MissingParameter\n")
    modules = imported_modules([source], set())
    assert undeclared(modules, {"typer"}) == ["click"]
    assert undeclared(modules, {"typer", "click"}) == []


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {raw!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize("extra", [None, "test"])
def test_constraints_pin_every_declared_dependency_inside_its_range(extra: str | None) -> None:
    pins = _constraints()
    for req in _requirements(_pyproject(), extra):
        if req.marker is not None and not req.marker.evaluate():
            continue  # another platform's spelling (tensorflow on arm64, tomli before 3.11)
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside {req.specifier}"
        )
