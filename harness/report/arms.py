"""The A/B section of a report: both arms per configuration and the ratio B/A.

The verdicts and intervals are harness.compare.ab's (`compare_arms`, the same
code `harness check --ab` gates with); this module lays them out and draws the
trials coloured by arm, so a reader sees the pairs the ratio came from.
"""

from __future__ import annotations

from harness.compare.ab import compare_arms, run_arms
from harness.errors import HarnessError
from harness.report import arm_charts
from harness.report.baseline import change_row
from harness.report.model import ArmsSection
from harness.report.order import variant_size_key
from harness.report.runs import DeviceRun


def arms_section(run: DeviceRun, key: str) -> ArmsSection | None:
    """The first two arms of an A/B run on this device; None for a run without two arms."""
    labels = run_arms(run.meta)
    if len(labels) < 2:
        return None
    try:
        comparison = compare_arms(run.run_dir)
    except HarnessError:
        return None  # the report still shows every trial; `check --ab` says what is wrong
    a, b = labels[0], labels[1]
    model = {t.device_model for t in run.trials}
    rows = tuple(
        sorted(
            (change_row(r) for r in comparison.rows if r.device_model in model),
            key=lambda c: variant_size_key(c.variant, c.quant, c.config),
        )
    )
    energy = tuple(c for c in rows if c.quantity == "energy")  # a table of their own
    rows = tuple(c for c in rows if c.quantity != "energy")
    note = (
        f"{comparison.method}; a change counts when it exceeds {comparison.threshold:.0%} "
        f"at {comparison.confidence:.0%} confidence. Interval: each end a one-sided bound."
    )
    return ArmsSection(
        a=a,
        b=b,
        note=note,
        rows=rows,
        chart=arm_charts.arm_trials(key, run.trials, labels),
        energy_rows=energy,
    )
