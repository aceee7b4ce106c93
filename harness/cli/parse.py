"""`harness parse LOGFILE`: read a saved benchmark_model output, print its figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import EXIT_FAILURES, EXIT_OK
from harness.logs.parser import parse_files
from harness.ranges import PARSE
from harness.results.frame import json_safe
from harness.textsafe import echo


def _ms(value_us: float | None) -> str:
    return "-" if value_us is None or math.isnan(value_us) else f"{value_us / 1000.0:.3f} ms"


def render_text(result: dict[str, object], *, top_ops: int = 10) -> str:
    """A short human summary of `ParsedOutput.to_dict()`."""

    def get(key: str) -> float | None:
        value = result.get(key)
        return float(value) if isinstance(value, int | float) else None

    lines = [f"status:      {result['status']}"]
    if result.get("error"):
        lines.append(f"error:       {result['error']}")
    lines.append(f"era:         {result.get('era') or 'unknown'}")
    if result.get("binary_id"):
        lines.append(f"binary:      {result['binary_id']}")
    count = result.get("count")
    runs = f" over {count} runs" if count is not None else ""
    lines.append(f"latency:     {_ms(get('avg_us'))} (regular-phase mean{runs})")
    lines.append(
        f"spread:      min {_ms(get('min_us'))}, max {_ms(get('max_us'))}, std {_ms(get('std_us'))}"
    )
    if get("median_us") is not None:
        lines.append(
            f"percentiles: p5 {_ms(get('p5_us'))}, median {_ms(get('median_us'))}, "
            f"p95 {_ms(get('p95_us'))}"
        )
    lines.append(
        f"start-up:    init {_ms(get('init_us'))}, first inference {_ms(get('first_us'))}, "
        f"warm-up mean {_ms(get('warmup_avg_us'))}"
    )
    if result.get("delegate"):
        nodes = result.get("delegated_nodes")
        total = result.get("total_nodes")
        took = (
            f", {nodes} of {total} nodes"
            if nodes is not None and total is not None
            else f", {nodes} nodes"
            if nodes is not None
            else ""
        )
        lines.append(f"delegate:    {result['delegate']}{took}")
    memory = [
        f"{label} {value:g} MB"
        for label, value in (
            ("init", get("mem_init_mb")),
            ("overall", get("mem_overall_mb")),
            ("peak", get("peak_mem_mb")),
        )
        if value is not None
    ]
    if memory:
        lines.append("memory:      " + ", ".join(memory))
    ops = result.get("ops")
    if isinstance(ops, list) and ops:
        ranked = sorted(ops, key=lambda op: -float(op.get("avg_ms") or 0.0))[:top_ops]
        lines.append(f"ops:         {len(ops)} profiled; slowest {len(ranked)}:")
        for op in ranked:
            lines.append(
                f"  {float(op.get('avg_ms') or 0.0):9.3f} ms {float(op.get('pct') or 0.0):7.3f}%  "
                f"{op.get('node_type')}  {op.get('name', '')}"
            )
    return "\n".join(lines) + "\n"


def parse_cmd(
    logfile: Annotated[
        Path, typer.Argument(help="benchmark_model output (stdout, or stdout+stderr merged).")
    ],
    stderr: Annotated[
        Path | None, typer.Option("--stderr", help="The process's stderr, if saved separately.")
    ] = None,
    exit_code: Annotated[
        int | None,
        typer.Option(
            "--exit-code",
            help=f"The process's exit code, {PARSE['--exit-code']} (128+N or -N: killed by "
            "signal N).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed record as JSON.")
    ] = False,
) -> None:
    """Parse a benchmark_model log of any era; exit 1 unless it shows a complete, successful run."""
    if exit_code is not None:
        PARSE["--exit-code"].check("--exit-code", exit_code)
    parsed = parse_files(logfile, stderr, exit_code=exit_code)
    # Absent figures and partial delegation go to stderr, so --json stays clean on stdout.
    for warning in parsed.figures.parse_warnings:
        echo(f"warning: {warning}", err=True)
    result = parsed.to_dict()
    if as_json:
        # NaN and inf are not JSON: a figure the tool printed so (an op row's too) becomes null.
        echo(json.dumps(json_safe(result), indent=2, allow_nan=False))
    else:
        echo(render_text(result), nl=False)
    raise typer.Exit(EXIT_OK if result["status"] == "ok" else EXIT_FAILURES)


def register(app: typer.Typer) -> None:
    """Add `harness parse`."""
    app.command("parse")(parse_cmd)
