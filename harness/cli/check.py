"""`harness check`: a run against a baseline, or arm B against arm A of one A/B run (`--ab`).

Exit 0: no regression; 1: a regression, a configuration whose trials all failed,
or one the run lacks (unless --allow-missing); 2: bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harness.errors import PlanError
from harness.outputs import output_file, write_atomic, writing
from harness.textsafe import echo

if TYPE_CHECKING:
    from harness.compare.check import Comparison


def check(
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file or run folder to compare against."),
    ] = None,
    current: Annotated[Path | None, typer.Option("--current", help="Run folder to check.")] = None,
    ab: Annotated[
        Path | None,
        typer.Option(
            "--ab",
            help="An A/B run folder: compare arm B against arm A pair by pair (instead of "
            "--baseline/--current).",
        ),
    ] = None,
    arm_a: Annotated[
        str | None, typer.Option("--a", help="With --ab: the reference arm (default: the first).")
    ] = None,
    arm_b: Annotated[
        str | None,
        typer.Option("--b", help="With --ab: the arm judged (default: the next after A)."),
    ] = None,
    threshold: Annotated[
        str,
        typer.Option(
            "--threshold",
            help="Smallest slowdown that counts, e.g. 5% or 0.05 (above 0%, below 100%).",
        ),
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
        str,
        typer.Option(
            "--confidence",
            help="Confidence of each one-sided test, e.g. 99% (above 0%, below 100%).",
        ),
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
    energy_threshold: Annotated[
        str,
        typer.Option(
            "--energy-threshold",
            help="Smallest energy increase that counts, for runs made with --energy "
            "(e.g. 5% or 0.05, above 0%, below 100%).",
        ),
    ] = "5%",
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="File: JUnit XML to write (one testcase per config)."),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="File: a markdown table to write (CI summary, PR)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON on stdout.")
    ] = False,
) -> None:
    """Give each configuration a verdict against the baseline (or arm A) and gate on regressions."""
    # harness.compare loads pandas and scipy: only this command pays for them.
    from harness.compare.ab import compare_arms
    from harness.compare.thresholds import parse_fraction

    # Refused before the comparison, so a bad path never costs a finished check.
    if junit:
        output_file(junit, "--junit")
    if markdown:
        output_file(markdown, "--markdown")
    if ab is not None:
        if baseline is not None or current is not None:
            raise PlanError("--ab compares the arms of one run: leave out --baseline/--current")
        if thresholds_file or allow_context_change or allow_missing:
            raise PlanError(
                "--thresholds, --allow-context-change and --allow-missing apply to "
                "--baseline checks, not --ab"
            )
        comparison = compare_arms(
            ab,
            a=arm_a,
            b=arm_b,
            threshold=parse_fraction(threshold),
            confidence=parse_fraction(confidence, what="confidence"),
            metric=metric,
            energy_threshold=parse_fraction(energy_threshold),
        )
    elif baseline is None or current is None:
        missing = "--baseline" if baseline is None else "--current"
        raise PlanError(
            f"Missing option '{missing}': compare a run against a baseline, or use "
            "--ab RUN_DIR (see `harness check --help`)"
        )
    elif arm_a is not None or arm_b is not None:
        raise PlanError("--a and --b choose the arms of an --ab check")
    else:
        comparison = _against_baseline(
            baseline,
            current,
            threshold,
            thresholds_file,
            confidence,
            allow_context_change,
            metric,
            allow_missing,
            energy_threshold,
        )
    _write_outputs(comparison, junit, markdown, as_json)
    raise typer.Exit(comparison.exit_code)


def _against_baseline(
    baseline: Path,
    current: Path,
    threshold: str,
    thresholds_file: Path | None,
    confidence: str,
    allow_context_change: bool,
    metric: str,
    allow_missing: bool,
    energy_threshold: str,
) -> Comparison:
    # harness.compare loads pandas and scipy: only this command pays for them.
    from harness.compare.check import compare_runs
    from harness.compare.thresholds import load_thresholds, parse_fraction

    return compare_runs(
        baseline,
        current,
        threshold=parse_fraction(threshold),
        confidence=parse_fraction(confidence, what="confidence"),
        thresholds=load_thresholds(thresholds_file) if thresholds_file else None,
        allow_context_change=allow_context_change,
        metric=metric,
        allow_missing=allow_missing,
        energy_threshold=parse_fraction(energy_threshold),
    )


def _write_outputs(
    comparison: Comparison, junit: Path | None, markdown: Path | None, as_json: bool
) -> None:
    # harness.compare loads pandas and scipy: only this command pays for them.
    from harness.compare.junit import write_junit
    from harness.compare.markdown import render_markdown
    from harness.compare.table import render_table

    if junit:
        with writing(junit):
            write_junit(comparison, junit)
    if markdown:
        with writing(markdown):
            write_atomic(markdown, render_markdown(comparison).encode("utf-8"), option="--markdown")
    if as_json:
        echo(json.dumps(comparison.to_dict(), indent=2, allow_nan=False))
        for warning in comparison.warnings:
            echo(f"warning: {warning}", err=True)
    else:
        echo(render_table(comparison), nl=False)


def register(app: typer.Typer) -> None:
    """Add `harness check`."""
    app.command("check")(check)
