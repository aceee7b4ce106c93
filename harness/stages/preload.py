"""Load the modules a run's end needs while its phones are opened and prepared.

Why: pandas and pyarrow take ~0.5 s to import, and a run needs them only at its
end (the tables and parquet files). Opening and preparing a phone is mostly
waiting on it, so the host imports them meanwhile, in a thread. The measure
stage waits for that thread before the first trial, so no import competes with
a benchmark for the host's CPUs (a simulated phone runs on them). A failed
import is left for the run's end to raise where it is needed.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Sequence

# The heavy modules of a run's end (harness.results.frame, harness.results.files).
END_MODULES: tuple[str, ...] = ("pandas", "pyarrow", "pyarrow.parquet")


class Preload:
    """Import `modules` in a daemon thread; `wait()` before the host's CPUs must be quiet."""

    def __init__(self, modules: Sequence[str] = END_MODULES) -> None:
        self._thread = threading.Thread(
            target=self._load, args=(tuple(modules),), name="preload", daemon=True
        )
        self._thread.start()

    @staticmethod
    def _load(modules: tuple[str, ...]) -> None:
        for name in modules:
            with contextlib.suppress(Exception):  # raised again where the module is used
                importlib.import_module(name)

    def wait(self) -> None:
        """Return once every import has ended (at once, if they have)."""
        while self._thread.is_alive():
            self._thread.join(0.1)  # short joins: Ctrl-C reaches the main thread at once
