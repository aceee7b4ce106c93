"""Programs installed in the simulated device's /system/bin.

Python tools (`taskset`, `benchmark_model`) are standalone scripts in this
folder; they are copied into the image with the host interpreter as shebang.
Shell tools are small mksh scripts kept in `shell.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness.sim.tools import shell

_HERE = Path(__file__).parent
PYTHON_TOOLS = {"taskset": "taskset.py", "benchmark_model": "benchmark_model.py"}


def render_all(*, python: str) -> dict[str, str]:
    """Tool name -> file text, ready to write with mode 0755."""
    out: dict[str, str] = {}
    for name, filename in PYTHON_TOOLS.items():
        # -I: the device's environment must not steer the host interpreter. taskset
        # also skips site (-S) because it runs on every pinned command.
        flags = "-IS" if name == "taskset" else "-I"
        out[name] = f"#!{python} {flags}\n" + (_HERE / filename).read_text()
    out.update(shell.SCRIPTS)
    return out


def import_lines() -> tuple[str, ...]:
    """Every import statement of the Python tools: what the device's interpreter must satisfy."""
    lines: set[str] = set()
    for filename in PYTHON_TOOLS.values():
        for node in ast.walk(ast.parse((_HERE / filename).read_text())):
            if isinstance(node, ast.Import) or (
                isinstance(node, ast.ImportFrom) and node.module != "__future__"
            ):
                lines.add(ast.unparse(node))
    return tuple(sorted(lines))
