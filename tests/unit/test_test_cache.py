"""The test suite keeps out of the user's model cache (tests/conftest.py).

Each check runs pytest itself in a child process with a "user" cache set in
the environment, selects the probe below (which stores a model in whatever
cache the session gave it), and looks where the model landed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import catalogue
from harness.convert import cache_dir, import_model

DATA = Path(__file__).parent.parent / "data" / "convert"
TESTS = Path(__file__).parent.parent


def test_probe_stores_a_model() -> None:
    """Not a check by itself: the child session runs it to write into its cache."""
    model = import_model(DATA / "tiny_fp32.tflite", variant=catalogue.get("mobilenet_v2_0.35_96"))
    assert model.path.is_relative_to(cache_dir())


def _run_probe(env: dict[str, str]) -> None:
    result = subprocess.run(
        # One xdist worker: the session's fixtures run where they run in the suite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "1",
         f"--rootdir={TESTS.parent}", f"{Path(__file__)}::test_probe_stores_a_model"],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_TEST_CACHE_DIR"}
    return {**env, **extra}


def _models(root: Path) -> list[Path]:
    return sorted((root / "models").glob("*.tflite")) if root.exists() else []


def test_the_users_cache_is_left_alone(tmp_path: Path) -> None:
    user = tmp_path / "user-cache"
    _run_probe(_env(HARNESS_CACHE_DIR=str(user)))
    assert _models(user) == []


def test_a_named_test_cache_is_reused(tmp_path: Path) -> None:
    user, shared = tmp_path / "user-cache", tmp_path / "test-cache"
    _run_probe(_env(HARNESS_CACHE_DIR=str(user), HARNESS_TEST_CACHE_DIR=str(shared)))
    assert _models(user) == []
    assert len(_models(shared)) == 1
