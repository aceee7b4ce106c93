"""`harness check --markdown FILE`: a table for a CI step summary or a PR comment.

GitHub-flavoured markdown. Every cell is escaped: markdown punctuation gets a
backslash and HTML gets entities, so a device model or reason cannot inject
markup or break the table.
"""

from __future__ import annotations

import html
import re

from harness.compare import fmt
from harness.compare.check import Comparison

# Inside a table cell no block syntax applies (a row starts with "|"); these are the
# inline ones. `<`, `>` and `&` become entities instead: a backslash before `&` would
# turn the entity itself into literal text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
HEADERS = (
    "Verdict",
    "Device",
    "Configuration",
    "Baseline ms",
    "Current ms",
    "Change",
    "Bounds",
    "p",
    "Trials",
    "Reason",
)
ALIGN = ("---", "---", "---", "---:", "---:", "---:", "---", "---:", "---:", "---")


def escape(text: str) -> str:
    """One table cell's text, inert in markdown and HTML, on one line."""
    one_line = " ".join(str(text).split())
    return html.escape(_MD_SPECIAL.sub(r"\\\1", one_line), quote=False)


def render_markdown(comparison: Comparison) -> str:
    """Heading with the outcome, warnings as a list, then one table row per configuration."""
    counts = comparison.counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no configurations"
    failing = [
        v
        for v in ("regression", "failed", "missing")
        if any(r.verdict == v and comparison.fails(r) for r in comparison.rows)
    ]
    if any(r.refused for r in comparison.rows):
        failing.append("energy not compared")
    outcome = ", ".join(failing) if failing else "no regression"
    lines = [f"### harness check: {outcome}", ""]
    if comparison.stand_in:  # never let a simulated or stand-in run pass for a phone's
        lines[0] += f" ({', '.join(comparison.stand_in_words)})"
        lines += [f"**{escape(comparison.stand_in[0].upper() + comparison.stand_in[1:])}.**", ""]
    lines += [
        escape(
            f"{len(comparison.rows)} configurations: {summary}. "
            f"Threshold {comparison.threshold * 100:g}%, confidence "
            f"{comparison.confidence * 100:g}%, per-trial {comparison.metric}"
            f"{_energy_note(comparison)}; "
            f"baseline {comparison.baseline.source}, "
            f"current {comparison.current.source}."
        ),
        "",
    ]
    if comparison.warnings:
        lines += ["**Warnings**", ""]
        lines += [f"- {escape(w)}" for w in comparison.warnings]
        lines.append("")
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("| " + " | ".join(ALIGN) + " |")
    for r in comparison.rows:
        verdict = f"**{r.verdict}**" if comparison.fails(r) else r.verdict
        cells = [
            escape(r.device_model),
            escape(fmt.config_label(r)),
            fmt.ms(r.baseline_median_ms),
            fmt.ms(r.current_median_ms),
            escape(fmt.change(r.ratio)),
            escape(fmt.bounds(r)),
            escape(fmt.p_value(r.p_value)),
            escape(fmt.trials(r)),
            escape(r.reason),
        ]
        lines.append("| " + " | ".join([verdict, *cells]) + " |")
    if not comparison.rows:
        lines.append("| " + " | ".join(["-"] * len(HEADERS)) + " |")
    lines += ["", escape(f"Method: {comparison.method}."), ""]
    return "\n".join(lines)


def _energy_note(comparison: Comparison) -> str:
    """How energy rows were judged, when there are any (`harness run --energy`)."""
    if not any(r.quantity == "energy" for r in comparison.rows):
        return ""
    return f"; energy per inference (mJ) against {comparison.energy_threshold * 100:g}%"
