"""`harness trend RUN_DIR...`: runs in time order and the step changes per configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import ResultsError
from harness.ranges import TREND
from harness.textsafe import echo


def trend(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Run folders, or folders of run folders (e.g. results/).")
    ],
    penalty: Annotated[
        float,
        typer.Option(
            "--penalty",
            help=f"Cost of one more segment, in noise^2 x ln(n), {TREND['--penalty']}.",
        ),
    ] = 4.0,
    min_step: Annotated[
        str,
        typer.Option(
            "--min-step", help="Smallest step reported, e.g. 5% or 0.05 (above 0%, below 100%)."
        ),
    ] = "5%",
    as_json: Annotated[bool, typer.Option("--json", help="Print the trend as JSON.")] = False,
    fail_on_slowdown: Annotated[
        bool,
        typer.Option(
            "--fail-on-slowdown",
            help="Exit 1 when a configuration's latest step is a slowdown (for nightly jobs).",
        ),
    ] = False,
) -> None:
    """Order runs by time and find where each configuration's latency stepped."""
    # harness.compare loads pandas and scipy: only this command pays for them.
    from harness.compare.thresholds import parse_fraction
    from harness.compare.trend import render_trend
    from harness.compare.trend import trend as compute_trend

    TREND["--penalty"].check("--penalty", penalty)
    result = compute_trend(
        run_dirs, penalty=penalty, min_step=parse_fraction(min_step, what="min step")
    )
    if not result.measured():
        # Empty or torn-only trials.jsonl, every trial failed: "no step changes" would pass.
        raise ResultsError(
            f"no ok trial in {len(result.runs)} run folder(s): nothing to find steps in",
            hint="`harness report RUN_DIR` shows what a run holds",
        )
    if as_json:
        echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        echo(render_trend(result), nl=False)
    if fail_on_slowdown and result.open_slowdowns():
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `harness trend`."""
    app.command("trend")(trend)
