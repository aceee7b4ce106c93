"""Compare runs: against a stored baseline (statistics, verdicts, JUnit, markdown) and over time.

Public API (docs/design.md "compare"): `compare_runs`, `Comparison`,
`ComparisonRow`, `save_baseline`, `load_source`, `write_junit`,
`render_markdown`, `render_table`, `trend`.
"""

from __future__ import annotations

from harness.compare.baseline import save_baseline
from harness.compare.check import Comparison, ComparisonRow, compare_runs
from harness.compare.junit import write_junit
from harness.compare.markdown import render_markdown
from harness.compare.source import Source, load_source
from harness.compare.table import render_table

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
