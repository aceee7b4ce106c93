"""A run's label: which release, commit or build it measured, for the report's History.

`harness run --label TEXT` names it; without one, a run started inside a git
checkout is labelled by `git describe --tags --always --dirty` of that folder
(the code being measured is usually the checkout the CI job runs in), and a
run started anywhere else has no label (the report then uses its date).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 5.0


def default_label(folder: Path) -> str | None:
    """`git describe` of `folder` when it is inside a git checkout, else None."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "describe", "--tags", "--always", "--dirty"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    label = out.stdout.strip()
    return label if out.returncode == 0 and label else None
