"""The console table `harness check` prints: one line per configuration, then a summary.

A simulated device, the stand-in binary or synthetic latencies are named above
the columns; rows that need attention get their reason beneath the table.
"""

from __future__ import annotations

from harness.compare import fmt
from harness.compare.check import Comparison
from harness.textsafe import printable
from harness.texttable import Column, draw

# Figures (the latencies, the change and p) right-aligned, words left.
COLUMNS = tuple(
    Column(title, "right" if title in ("base ms", "cur ms", "change", "p") else "left")
    for title in (
        "verdict",
        "device",
        "variant",
        "quant",
        "thr",
        "cores",
        "xnnpack",
        "base ms",
        "cur ms",
        "change",
        "bounds",
        "p",
        "n",
    )
)


def render_table(comparison: Comparison) -> str:
    """Plain-text table with aligned columns, warnings and a verdict count underneath."""
    rows = [
        (
            r.verdict.upper() if comparison.fails(r) else r.verdict,
            r.device_model,
            r.config.variant,
            r.config.quant,
            str(r.config.threads),
            r.config.cores,
            r.config.xnnpack,
            fmt.ms(r.baseline_median_ms),
            fmt.ms(r.current_median_ms),
            fmt.change(r.ratio),
            fmt.bounds(r),
            fmt.p_value(r.p_value),
            fmt.trials(r),
        )
        for r in comparison.rows
    ]
    # A run that was not a phone with benchmark_model says so above its columns.
    title = f"harness check: {comparison.stand_in}" if comparison.stand_in else None
    out = draw(COLUMNS, rows, title=title)
    # A missing row says all there is in its table row: it is not repeated as a line.
    for r in comparison.rows:
        if r.verdict in ("regression", "inconclusive", "failed") or r.n_failed:
            out.append(
                printable(f"  {r.verdict}: {fmt.config_label(r)} [{r.device_model}]: {r.reason}")
            )
    for w in comparison.warnings:
        out.append(printable(f"warning: {w}"))
    counts = ", ".join(
        f"{n} {v}"
        + (" (in the baseline, not measured in the current run)" if v == "missing" else "")
        for v, n in comparison.counts().items()
        if n
    )
    level = f"{comparison.confidence * 100:g}%"
    metric = "" if comparison.metric == "mean" else f", per-trial {comparison.metric}"
    out.append(
        f"{len(comparison.rows)} configurations: {counts or 'none'} "
        f"(threshold {comparison.threshold * 100:g}%, confidence {level}{metric})"
    )
    return "\n".join(out) + "\n"
