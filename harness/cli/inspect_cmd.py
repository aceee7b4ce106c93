"""`harness inspect FILE`: ops, MACs, parameters and input of a `.tflite`, from the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.convert.analysis import analyze, analyze_bytes
from harness.convert.archive import tflite_from_archive
from harness.convert.listing import format_analysis
from harness.textsafe import echo


def inspect(
    model: Annotated[
        Path, typer.Argument(help="A .tflite file, or a checkpoint .tgz holding one.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object on stdout.")] = False,
) -> None:
    """Read a TFLite flatbuffer and report its cost (no TensorFlow needed)."""
    if model.name.endswith((".tgz", ".tar.gz", ".tar")):
        member, data = tflite_from_archive(model)
        analysis = analyze_bytes(data, path=f"{model}!{member}")
    else:
        analysis = analyze(model)
    if as_json:
        echo(json.dumps({"path": str(model), **analysis.to_dict()}, indent=1))
    else:
        echo(format_analysis(model, analysis), nl=False)


def register(app: typer.Typer) -> None:
    """Add `harness inspect`."""
    app.command("inspect")(inspect)
