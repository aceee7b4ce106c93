"""The `harness` command is `console`: `main` for a process about to end.

Python's exit collects every object one by one (~0.3 s with pandas loaded, on
every command); the console script freezes them out of the collector first.
`main` is for longer-lived callers (tests, scripts) and leaves the collector alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.inputs import loads_toml

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_command_is_console() -> None:
    scripts = loads_toml((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"harness": "harness.cli:console"}


def _freeze_count_after(entry: str) -> tuple[int, int]:
    code = (
        "import gc, sys, io, contextlib\n"
        "sys.argv = ['harness', 'variants', '--json']\n"
        f"from harness.cli import {entry}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = {entry}()\n"
        "print(code, gc.get_freeze_count())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_console_returns_the_commands_code_with_its_objects_frozen() -> None:
    code, frozen = _freeze_count_after("console")
    assert code == 0 and frozen > 1000


def test_main_leaves_the_collector_alone() -> None:
    assert _freeze_count_after("main") == (0, 0)
