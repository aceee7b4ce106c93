"""`harness report`: stored runs -> one self-contained HTML file (never touches a device)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.outputs import output_file
from harness.textsafe import echo


def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders, or folders holding run folders (e.g. results/).", show_default=False
        ),
    ],
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file or run folder: adds the change section."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            "--output",  # the old spelling, still taken (harness.cli.helptext.HIDDEN_ALIASES)
            help="File: the HTML report [default: RUN_DIR/report.html for one run, "
            "./report.html for several].",
        ),
    ] = None,
    threshold: Annotated[
        str,
        typer.Option(
            "--threshold",
            help="Smallest change that counts vs the baseline (above 0%, below 100%).",
        ),
    ] = "5%",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what the report holds as JSON on stdout.")
    ] = False,
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="File: also print the report to this PDF (needs Chromium)."),
    ] = None,
) -> None:
    """Write the HTML report: measured beside the published Pixel-1 column, for people."""
    # Imported here so that `harness --help` does not load pandas, jinja2 or matplotlib.
    from harness.compare.thresholds import parse_fraction
    from harness.report.render import build

    if out is not None:
        output_file(out, "--out")
    if pdf is not None:
        output_file(pdf, "--pdf")
    rendered = build(run_dirs, baseline, out, threshold=parse_fraction(threshold))
    for section in rendered.context.sections:
        for banner in section.banners:
            echo(f"note: {section.title}: {banner}", err=True)
    if as_json:
        echo(json.dumps(rendered.to_dict(), indent=2, allow_nan=False))
    echo(f"wrote {rendered.path} ({rendered.size_bytes / 1e6:.2f} MB)", err=True)
    if pdf is not None:
        from harness.report.pdf import print_pdf

        echo(f"wrote {print_pdf(rendered.path, pdf)}", err=True)


def register(app: typer.Typer) -> None:
    """Add `harness report`."""
    app.command("report")(report)
