"""`harness check`: a run against a baseline.

Exit 0: no regression; 1: a regression, a configuration whose trials all failed,
or one the run lacks (unless --allow-missing); 2: bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.textsafe import echo


def check(
    baseline: Annotated[
        Path, typer.Option("--baseline", help="Baseline file or run folder to compare against.")
    ],
    current: Annotated[Path, typer.Option("--current", help="Run folder to check.")],
    threshold: Annotated[
        str, typer.Option("--threshold", help="Smallest slowdown that counts, e.g. 5% or 0.05.")
    ] = "5%",
    thresholds_file: Annotated[
        Path | None,
        typer.Option(
            "--thresholds",
            help="JSON/TOML file: variant id or pattern -> threshold (e.g. "
            '{"mobilenet_v2_0.35_*": "8%"}).',
        ),
    ] = None,
    confidence: Annotated[
        str, typer.Option("--confidence", help="Confidence of each one-sided test, e.g. 99%.")
    ] = "99%",
    allow_context_change: Annotated[
        bool,
        typer.Option(
            "--allow-context-change",
            help="Compare even if device model, SoC, ABI or binary differ (warns instead).",
        ),
    ] = False,
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            help="Per-trial figure: mean (headline, default), or median / min of its timed runs "
            "(robust to interference on a shared host).",
        ),
    ] = "mean",
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Pass configurations of the baseline that this run did not measure (a "
            "deliberate subset). A configuration whose trials all failed still fails.",
        ),
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML (one testcase per config).")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write a markdown table (CI summary, PR).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON on stdout.")
    ] = False,
) -> None:
    """Give each configuration a verdict against the baseline and gate on regressions."""
    from harness.compare.check import compare_runs
    from harness.compare.junit import write_junit
    from harness.compare.markdown import render_markdown
    from harness.compare.table import render_table
    from harness.compare.thresholds import load_thresholds, parse_fraction
    from harness.outputs import output_file, writing

    # Refused before the comparison, so a bad path never costs a finished check.
    if junit:
        output_file(junit, "--junit")
    if markdown:
        output_file(markdown, "--markdown")
    comparison = compare_runs(
        baseline,
        current,
        threshold=parse_fraction(threshold),
        confidence=parse_fraction(confidence, what="confidence"),
        thresholds=load_thresholds(thresholds_file) if thresholds_file else None,
        allow_context_change=allow_context_change,
        metric=metric,
        allow_missing=allow_missing,
    )
    if junit:
        with writing(junit):
            write_junit(comparison, junit)
    if markdown:
        with writing(markdown):
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(render_markdown(comparison), encoding="utf-8")
    if as_json:
        echo(json.dumps(comparison.to_dict(), indent=2, allow_nan=False))
        for warning in comparison.warnings:
            echo(f"warning: {warning}", err=True)
    else:
        echo(render_table(comparison), nl=False)
    raise typer.Exit(comparison.exit_code)


def register(app: typer.Typer) -> None:
    """Add `harness check`."""
    app.command("check")(check)
