"""The CLI contract every command shares: one error line, exit codes, --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import COMMAND_MODULES, app, main
from harness.errors import EXIT_INPUT


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_every_command_module_registers_a_command() -> None:
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    # Every module in the registry contributed at least one command or group.
    assert len(names) >= len(COMMAND_MODULES)
    for expected in ("variants", "convert", "inspect", "run", "report", "check", "sim", "devices"):
        assert expected in names


def test_harness_error_is_one_line_without_traceback() -> None:
    proc = _harness("variants", "--variants", "mobilenet_v2_1.0_225")
    assert proc.returncode == EXIT_INPUT
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: unknown variant 'mobilenet_v2_1.0_225'")
    assert "mobilenet_v2_1.0_224" in lines[0]  # a close match is suggested
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback() -> None:
    proc = _harness("--debug", "variants", "--variants", "nope_nothing")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "UnknownVariantError" in proc.stderr


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_version() -> None:
    proc = _harness("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("harness ")
