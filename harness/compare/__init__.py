"""Compare runs: against a stored baseline (statistics, verdicts, JUnit, markdown) and over time.

Public API (docs/design.md "compare"): `compare_runs`, `Comparison`,
`ComparisonRow`, `save_baseline`, `load_source`, `write_junit`,
`render_markdown`, `render_table`, `trend`.

The names are loaded on first use (PEP 562): the statistics load scipy, and a
`harness run` that only reads a threshold from this package (`thresholds`) must
not pay for it at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.compare.baseline import save_baseline
    from harness.compare.check import Comparison, ComparisonRow, compare_runs
    from harness.compare.junit import write_junit
    from harness.compare.markdown import render_markdown
    from harness.compare.source import Source, load_source
    from harness.compare.table import render_table

_HOME = {
    "save_baseline": "baseline",
    "Comparison": "check",
    "ComparisonRow": "check",
    "compare_runs": "check",
    "write_junit": "junit",
    "render_markdown": "markdown",
    "Source": "source",
    "load_source": "source",
    "render_table": "table",
}

__all__ = [
    "Comparison",
    "ComparisonRow",
    "Source",
    "compare_runs",
    "load_source",
    "render_markdown",
    "render_table",
    "save_baseline",
    "write_junit",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value
