"""A task function that kills its worker process (for tests/unit/test_convert_parallel.py)."""

from __future__ import annotations

import os
import signal
from typing import Any


def die(task: dict[str, Any]) -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGKILL)
    return task
