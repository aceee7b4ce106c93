"""The console table `harness check` prints: one line per configuration, then a summary."""

from __future__ import annotations

import re

from harness.compare import fmt
from harness.compare.check import Comparison

# Control characters (ANSI escapes, carriage returns) a device reported must not
# reach the terminal: they could rewrite what the table says.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    return _CONTROL.sub("?", text)


HEADERS = (
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


def render_table(comparison: Comparison) -> str:
    """Plain-text table with aligned columns, warnings and a verdict count underneath."""
    body = [
        tuple(
            _safe(cell)
            for cell in (
                r.verdict.upper() if comparison.fails(r) else r.verdict,
                r.device_model,
                r.variant,
                r.quant,
                str(r.threads),
                r.cores,
                r.xnnpack,
                fmt.ms(r.baseline_median_ms),
                fmt.ms(r.current_median_ms),
                fmt.change(r.ratio),
                fmt.bounds(r),
                fmt.p_value(r.p_value),
                fmt.trials(r),
            )
        )
        for r in comparison.rows
    ]
    widths = [
        max(len(h), *(len(row[i]) for row in body)) if body else len(h)
        for i, h in enumerate(HEADERS)
    ]
    numeric = {7, 8, 9, 11}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(HEADERS), line(tuple("-" * w for w in widths))]
    out += [line(row) for row in body]
    for r in comparison.rows:
        if r.verdict in ("regression", "inconclusive", "failed", "missing") or r.n_failed:
            out.append(
                _safe(f"  {r.verdict}: {fmt.config_label(r)} [{r.device_model}]: {r.reason}")
            )
    for w in comparison.warnings:
        out.append(_safe(f"warning: {w}"))
    counts = ", ".join(f"{n} {v}" for v, n in comparison.counts().items() if n)
    level = f"{comparison.confidence * 100:g}%"
    metric = "" if comparison.metric == "mean" else f", per-trial {comparison.metric}"
    out.append(
        f"{len(comparison.rows)} configurations: {counts or 'none'} "
        f"(threshold {comparison.threshold * 100:g}%, confidence {level}{metric})"
    )
    return "\n".join(out) + "\n"
