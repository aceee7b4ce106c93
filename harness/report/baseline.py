"""The baseline section, computed only through harness.compare's public API.

The statistics (intervals, verdicts, thresholds) are harness.compare's job
(`compare_runs`); this module only lays its `Comparison` rows out for people. The report is
for reading, so a context change (other device, other binary) is compared
anyway and flagged loudly rather than refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.compare import Comparison, ComparisonRow, compare_runs, load_source
from harness.report import history_charts
from harness.report.model import Advice, BaselineSection, ChangeRow, Tone
from harness.report.order import variant_size_key
from harness.report.runs import DeviceRun

DEFAULT_THRESHOLD = 0.05
DEFAULT_CONFIDENCE = 0.99
TONES: dict[str, Tone] = {
    "regression": "bad",
    "improvement": "ok",
    "failed": "bad",
    "missing": "warn",
    "unchanged": "info",
    "inconclusive": "info",
    "new": "info",
}


@dataclass(frozen=True)
class BaselineResult:
    """harness.compare's verdicts for each current run folder, or why there are none."""

    source: str
    threshold: float
    comparisons: dict[str, Comparison] = field(default_factory=dict)  # by run folder
    warnings: tuple[Advice, ...] = ()


def compare_baseline(
    baseline: str | os.PathLike[str],
    run_dirs: Sequence[Path],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
) -> BaselineResult:
    """Compare every run folder with `baseline` (a run folder or a baseline file).

    Bad baseline input raises harness.compare's ResultsError / SchemaVersionError.
    """
    source = str(baseline)
    base = load_source(Path(baseline))  # read once, compared with every run folder
    comparisons: dict[str, Comparison] = {}
    notes: list[str] = []
    for run_dir in dict.fromkeys(run_dirs):
        comparison = compare_runs(
            base, run_dir, threshold=threshold, confidence=confidence, allow_context_change=True
        )
        comparisons[str(run_dir)] = comparison
        notes.extend(str(w) for w in comparison.warnings)
    warnings: tuple[Advice, ...] = ()
    if notes:
        warnings = (
            Advice(
                "warn",
                "Baseline comparison caveats",
                " · ".join(dict.fromkeys(notes)),
                "A verdict across a changed context (device, build, binary) measures that "
                "change too; record a new baseline on the new context before gating on it.",
            ),
        )
    return BaselineResult(source, threshold, comparisons, warnings=warnings)


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else (ratio - 1.0) * 100.0


def change_row(row: ComparisonRow) -> ChangeRow:
    """One harness.compare ComparisonRow as the report shows it (ratios as % change)."""
    verdict = str(row.verdict)
    return ChangeRow(
        config=row.key,
        variant=row.config.variant,
        quant=row.config.quant,
        baseline_ms=row.baseline_median_ms,
        current_ms=row.current_median_ms,
        change_pct=_pct(row.ratio),
        low_pct=_pct(row.ci_low),
        high_pct=_pct(row.ci_high),
        verdict=verdict,
        tone=TONES.get(verdict, "info"),
        quantity=row.quantity,
    )


def changes_for(result: BaselineResult, run: DeviceRun, key: str) -> BaselineSection:
    """The baseline section of one device in one run."""
    comparison = result.comparisons.get(str(run.run_dir))
    models = {t.device_model for t in run.trials}
    rows = tuple(
        sorted(
            (
                change_row(r)
                for r in (comparison.rows if comparison else ())
                if str(r.device_model) in models
            ),
            key=lambda c: variant_size_key(c.variant, c.quant, c.config),
        )
    )
    # Energy rows (`harness run --energy` on both sides) get a table of their own.
    energy = tuple(c for c in rows if c.quantity == "energy")
    rows = tuple(c for c in rows if c.quantity != "energy")
    if comparison is None or not rows:
        return BaselineSection(
            source=result.source,
            available=False,
            note="the baseline holds no configuration of this device",
        )
    note = (
        f"{comparison.method}; a change counts when it exceeds its threshold "
        f"(default {result.threshold:.0%}) at {comparison.confidence:.0%} confidence."
    )
    return BaselineSection(
        source=result.source,
        available=True,
        note=note,
        rows=rows,
        chart=history_charts.baseline_changes(key, rows, result.threshold),
        energy_rows=energy,
    )
