"""Shared test setup: the tests' own model cache, artifacts folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# A developer may keep converted test models across sessions by naming a folder
# here (README, Development). It is never the user's `$HARNESS_CACHE_DIR`:
# tests convert V1, int8, fp16 and dynamic models that `harness variants` would
# then list as the user's own.
TEST_CACHE_ENV = "HARNESS_TEST_CACHE_DIR"
CACHE_ENV = "HARNESS_CACHE_DIR"


def _run_temp(config: pytest.Config, factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this whole test run: with pytest-xdist, every worker's own
    folder (`popen-gwN`) sits in it, so the workers share what is made there.

    A worker is known by the `workerinput` xdist gives its config, not by an
    environment variable, which a child pytest started by a test would inherit.
    """
    base = factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


@pytest.fixture(scope="session", autouse=True)
def _model_cache(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """One cache per test run (conversions take ~9 s), shared by its workers, never the
    user's cache. Entries are written atomically, so workers may fill it at once."""
    preset = os.environ.get(TEST_CACHE_ENV)
    path = (
        Path(preset).expanduser()
        if preset
        else _run_temp(request.config, tmp_path_factory) / "harness-cache"
    )
    path.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for CI to keep (screenshots, reports)."""
    path = Path(os.environ.get("HARNESS_ARTIFACTS", "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
