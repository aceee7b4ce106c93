"""`harness parse LOGFILE`: read a saved benchmark_model output, print its figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import EXIT_FAILURES, EXIT_OK
from harness.logs.accelerator import SPELLINGS, parse_accelerator
from harness.logs.parser import parse_files
from harness.ranges import PARSE
from harness.results.frame import json_safe
from harness.textsafe import echo

# What a delegation proof must say for `harness parse` to exit 0 (with status ok).
PROVED = ("applied", "partial")


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
    delegation = result.get("delegation")
    if isinstance(delegation, dict):
        lines += _delegation_lines(delegation)
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


def _delegation_lines(proof: dict[str, object]) -> list[str]:
    """The accelerator, the delegate that ran and on how much, and the verdict."""
    how = "read from the log" if proof.get("inferred") else "as given"
    lines = [f"accelerator: {proof.get('accelerator')} ({how})"]
    if proof.get("delegate"):
        nodes, total = proof.get("delegated_nodes"), proof.get("total_nodes")
        took = (
            f", {nodes} of {total} nodes"
            if nodes is not None and total is not None
            else f", {nodes} nodes"
            if nodes is not None
            else ""
        )
        parts, graph = proof.get("partitions"), proof.get("graph_partitions")
        took += f" in {parts} partition{'' if parts == 1 else 's'}" if parts is not None else ""
        took += f" (graph cut in {graph} parts)" if graph is not None and graph != parts else ""
        node = f" [{proof['node']}]" if proof.get("node") else ""
        lines.append(f"delegate:    {proof['delegate']}{took}{node}")
    lines.append(f"delegation:  {proof.get('verdict')}: {proof.get('reason')}")
    return lines


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
    accelerator: Annotated[
        str | None,
        typer.Option(
            "--accelerator",
            help=f"The compute unit the run asked for ({SPELLINGS}), to prove its delegation "
            "against; default: the one the log's own flags asked for.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed record as JSON.")
    ] = False,
) -> None:
    """Parse a benchmark_model log of any era; exit 1 unless it shows a complete, successful run
    whose delegate took the graph (or part of it) as the accelerator asked."""
    if exit_code is not None:
        PARSE["--exit-code"].check("--exit-code", exit_code)
    unit = parse_accelerator(accelerator) if accelerator is not None else None
    parsed = parse_files(logfile, stderr, exit_code=exit_code, accelerator=unit)
    # Absent figures and partial delegation go to stderr, so --json stays clean on stdout.
    for warning in parsed.figures.parse_warnings:
        echo(f"warning: {warning}", err=True)
    assert parsed.delegation is not None  # the reader always proves it
    result = {**parsed.to_dict(), "delegation": parsed.delegation.to_dict()}
    if as_json:
        # NaN and inf are not JSON: a figure the tool printed so (an op row's too) becomes null.
        echo(json.dumps(json_safe(result), indent=2, allow_nan=False))
    else:
        echo(render_text(result), nl=False)
    proved = parsed.status == "ok" and parsed.delegation.verdict in PROVED
    raise typer.Exit(EXIT_OK if proved else EXIT_FAILURES)


def register(app: typer.Typer) -> None:
    """Add `harness parse`."""
    app.command("parse")(parse_cmd)
