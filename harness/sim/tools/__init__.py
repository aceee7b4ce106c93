"""Programs installed in the simulated device's /system/bin.

Python tools (`taskset`, `benchmark_model`) are standalone scripts in this
folder; they are copied into the image with the host interpreter as shebang.
Shell tools are small mksh scripts kept in `shell.py`.
"""

from __future__ import annotations

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
