"""Shared test setup: one model cache per test session, artifacts folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Convert each variant at most once per test session (conversions take ~9 s)."""
    preset = os.environ.get("HARNESS_CACHE_DIR")
    path = Path(preset) if preset else tmp_path_factory.mktemp("harness-cache")
    os.environ["HARNESS_CACHE_DIR"] = str(path)
    yield path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for CI to keep (screenshots, reports)."""
    path = Path(os.environ.get("HARNESS_ARTIFACTS", "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
