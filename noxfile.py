"""nox sessions: tests, lint, typecheck, bench, demo, convert_all.

One helper installs the package for every session that runs it, so the unit,
integration and benchmark sessions test the same install.
"""

from __future__ import annotations

import glob

import nox

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
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """Fast tests only: no device, no browser, no TensorFlow conversion."""
    _install(session)
    session.run("pytest", "tests/unit", "-m", "not slow", *session.posargs)


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
