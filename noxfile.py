"""nox sessions: tests, unit, lowest, pinned, lint, typecheck, bench, demo, convert_all.

One helper installs the package for every session that runs it, so the unit,
integration and benchmark sessions test the same install.
"""

from __future__ import annotations

import glob
from pathlib import Path

import nox
import tomllib
from packaging.requirements import Requirement

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "test") -> None:
    session.run("sh", "scripts/setup-system.sh", external=True)
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """All tests (unit, integration on the simulated device, browser)."""
    _install(session)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """Fast tests only: no device, no browser, no TensorFlow conversion."""
    _install(session)
    session.run("python", "-m", "pytest", "tests/unit", "-m", "not slow", *session.posargs)


def _lowest_pins() -> str:
    """`name==lower` for every declared requirement (runtime and test) that holds here.

    pip has no "lowest" resolution, so the constraints say it: each range's
    lower end, which is the version the range promises to work with.
    """
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = []
    for req in map(Requirement, lines):
        if req.marker is not None and not req.marker.evaluate():
            continue
        lows = [s.version for s in req.specifier if s.operator in (">=", "~=", "==")]
        if lows:
            pins.append(f"{req.name}=={lows[0]}")
    return "\n".join(pins) + "\n"


@nox.session(python=PYTHON)
def lowest(session: nox.Session) -> None:
    """Unit tests on the lowest version of every dependency pyproject.toml allows."""
    constraints = Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text(_lowest_pins())
    session.run("sh", "scripts/setup-system.sh", external=True)
    session.install("-c", str(constraints), "-e", ".[test]")
    session.run("python", "-m", "pip", "list", silent=False)
    session.run("python", "-m", "pytest", "tests/unit", "-m", "not slow", *session.posargs)


@nox.session(python=PYTHON)
def pinned(session: nox.Session) -> None:
    """All tests on the known-good set in constraints.txt (what a lab pins)."""
    session.run("sh", "scripts/setup-system.sh", external=True)
    session.install("-c", "constraints.txt", "-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff")
    session.run("ruff", "check", "harness", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "harness", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    _install(session, "dev")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every script in benchmarks/ and print its figures."""
    _install(session)
    for script in sorted(glob.glob("benchmarks/bench_*.py")):
        session.log(f"== {script}")
        session.run("python", script, *session.posargs)


@nox.session(python=PYTHON)
def convert_all(session: nox.Session) -> None:
    """Convert all 38 variants and check them against the published figures."""
    _install(session)
    session.run("python", "benchmarks/bench_convert.py", "--check-all")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The newcomer's first run: three variants on the simulated Pixel 1."""
    _install(session)
    session.run("harness", "run", "--device", "sim", "--variants", "v2:1.0_224,v2:0.5_*")
