"""Which adb servers the integration tests run against (tests/integration/conftest.py).

Every test the adb server takes part in (marked `adb_protocol`) runs once per
server, any other once; in CI (`CI=true`) a missing Debian adb fails the run
instead of silently testing one server. Each check runs one integration test
in a child pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

TESTS = Path(__file__).parent.parent
ADB_TEST = Path(__file__).parent / "test_sim_adb_cli.py::test_devices_lists_the_pixel_identity"
# Not protocol-level: device info read through whichever server carries the bytes.
ONCE_TEST = Path(__file__).parent / "test_device_info.py::test_pixel1_info"
KNOBS = ("HARNESS_TEST_ADB_SERVERS", "HARNESS_TEST_DEBIAN_ADB", "CI")


def _pytest(test: Path = ADB_TEST, **env: str) -> subprocess.CompletedProcess[str]:
    # Not the xdist worker's variables either: the child is a run of its own, in one
    # process (`-n 0`), so its `-v` lines read `test[server] PASSED`.
    base = {k: v for k, v in os.environ.items() if k not in KNOBS and not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={TESTS.parent}",
         "-n", "0", "-v", str(test)],
        cwd=TESTS.parent, env={**base, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_debian_adb_missing_in_ci_is_a_failure(tmp_path: Path) -> None:
    result = _pytest(CI="true", HARNESS_TEST_DEBIAN_ADB=str(tmp_path / "no-adb"))
    assert result.returncode == 1, result.stdout
    assert "[bundled] PASSED" in result.stdout
    assert "[debian] ERROR" in result.stdout and "is not installed" in result.stdout


def test_debian_adb_missing_elsewhere_runs_the_bundled_one_only(tmp_path: Path) -> None:
    result = _pytest(HARNESS_TEST_DEBIAN_ADB=str(tmp_path / "no-adb"))
    assert result.returncode == 0, result.stdout
    assert "[bundled] PASSED" in result.stdout and "[debian]" not in result.stdout


def test_servers_can_be_narrowed_for_a_quick_local_run() -> None:
    result = _pytest(HARNESS_TEST_ADB_SERVERS="bundled")
    assert result.returncode == 0, result.stdout
    assert "[bundled] PASSED" in result.stdout and "[debian]" not in result.stdout


def test_both_servers_when_debian_adb_is_installed() -> None:
    if not Path("/usr/bin/adb").exists():
        pytest.skip("Debian's adb is not installed here (scripts/setup-system.sh installs it)")
    result = _pytest()
    assert result.returncode == 0, result.stdout
    assert "[bundled] PASSED" in result.stdout and "[debian] PASSED" in result.stdout


def test_a_test_the_server_takes_no_part_in_runs_once() -> None:
    """Even with Debian's adb installed and in CI, on the first server only."""
    result = _pytest(ONCE_TEST, CI="true")
    assert result.returncode == 0, result.stdout
    assert "[bundled] PASSED" in result.stdout and "[debian]" not in result.stdout
