"""`harness baseline save RUN_DIR -o FILE`: a run as a small, committed baseline file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.outputs import output_file, writing
from harness.textsafe import echo

baseline_app = typer.Typer(
    name="baseline",
    help="Make and refresh the baseline file `harness check` compares against.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain click layout: see harness.cli.helptext
)


@baseline_app.command("save")
def save(
    run_dir: Annotated[Path, typer.Argument(help="A run folder made by `harness run`.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="File: the baseline to write (JSON; commit it).")
    ],
) -> None:
    """Write the run's trial latencies and context as a diff-friendly baseline file."""
    # harness.compare loads pandas and scipy: only this command pays for them.
    from harness.compare.baseline import save_baseline

    output_file(out, "--out")
    with writing(out):
        path, warnings = save_baseline(run_dir, out)
    for warning in warnings:
        echo(f"warning: {warning}", err=True)
    echo(f"baseline written to {path}", err=True)


def register(app: typer.Typer) -> None:
    """Add the `baseline` sub-app."""
    app.add_typer(baseline_app)
