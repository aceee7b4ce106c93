"""How numbers of a comparison read in every output (table, markdown, JUnit)."""

from __future__ import annotations

from harness.compare.check import ComparisonRow


def ms(value: float | None) -> str:
    """Milliseconds with two decimals, `-` when absent."""
    return "-" if value is None else f"{value:.2f}"


def change(ratio: float | None) -> str:
    """A ratio as a signed percentage: 1.123 -> `+12.3%`."""
    return "-" if ratio is None else f"{(ratio - 1.0) * 100:+.1f}%"


def bounds(row: ComparisonRow) -> str:
    """The interval on the change: `+3.0% .. +9.1%`."""
    if row.ci_low is None or row.ci_high is None:
        return "-"
    return f"{change(row.ci_low)} .. {change(row.ci_high)}"


def p_value(value: float | None) -> str:
    """Two significant digits, `-` when absent."""
    return "-" if value is None else f"{value:.2g}"


def trials(row: ComparisonRow) -> str:
    """`5/5`: ok trials in baseline / current; `5/3, 2 failed` when current trials failed."""
    failed = f", {row.n_failed} failed" if row.n_failed else ""
    return f"{row.n_baseline}/{row.n_current}{failed}"


def config_label(row: ComparisonRow) -> str:
    """A short human name for a configuration: `mobilenet_v2_1.0_224 fp32 t1 big xnnpack=on`."""
    c = row.config
    label = f"{c.variant} {c.quant} t{c.threads} {c.cores} xnnpack={c.xnnpack}"
    return f"{label} energy (mJ/inference)" if row.quantity == "energy" else label
