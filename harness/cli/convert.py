"""`harness convert`: catalogue variants -> cached `.tflite` files (or import ready ones)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from harness import catalogue, ranges
from harness.catalogue import Variant
from harness.convert import convert_many, import_model
from harness.convert.listing import format_models_table
from harness.errors import HarnessError
from harness.outputs import output_folder
from harness.textsafe import echo

RANGES = ranges.CONVERT  # the documented range of every numeric option

# Where `--from official` fetches archives instead of the URLs in the catalogue
# (a local mirror; tests point it at a server on 127.0.0.1).
MIRROR_ENV = "HARNESS_CHECKPOINT_MIRROR"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _mirrored(url: str) -> str:
    mirror = os.environ.get(MIRROR_ENV)
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if mirror else url


def convert(
    selection: Annotated[
        str | None,
        typer.Option(
            "--variants",
            help="Selection: all, ids, globs (mobilenet_v2_0.5_*), short (v2:1.0_*). "
            "Default: the 22 MobileNetV2 variants.",
        ),
    ] = None,
    quant: Annotated[
        str, typer.Option("--quant", help="Comma list of fp32, int8, dynamic, fp16.")
    ] = "fp32",
    out: Annotated[
        Path | None, typer.Option("--out", help="Also place the files here as <id>_<quant>.tflite.")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", help=f"Worker processes, {RANGES['--jobs']} (default: cores)."
        ),
    ] = None,
    sources: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="Import instead of converting: a .tflite or checkpoint .tgz (path or URL), "
            "or 'official' for each selected variant's published checkpoint. Repeatable.",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option("--weights", help="Local Keras weights to load (one variant only)."),
    ] = None,
    classes: Annotated[
        int,
        typer.Option("--classes", help=f"Classifier outputs, {RANGES['--classes']} (Keras's)."),
    ] = 1000,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout.")] = False,
) -> None:
    """Build each variant in Keras and convert it with the TF converter (cached by recipe)."""
    for option, value in (("--jobs", jobs), ("--classes", classes)):
        if value is not None:
            RANGES[option].check(option, value)
    if out is not None:
        output_folder(out, "--out")
    variants = catalogue.select(catalogue.DEFAULT_SELECTION if selection is None else selection)
    pairs: list[tuple[str, Variant | None]]
    if sources:
        if sources == ["official"]:
            pairs = [(_mirrored(v.checkpoint_url or ""), v) for v in variants]
        else:
            # Files name their variant, unless the user names it with --variants.
            named = catalogue.get(selection) if selection else None
            pairs = [(src, named) for src in sources]
        models = [import_model(src, variant=v, out_dir=out) for src, v in pairs]
    else:
        if weights is not None and len(variants) != 1:
            raise HarnessError(
                f"--weights fits one architecture, but the selection has {len(variants)} variants",
                hint="select exactly one with --variants",
            )
        models = convert_many(
            variants,
            _split(quant),
            jobs=jobs,
            out_dir=out,
            progress=progress,
            classes=classes,
            weights=weights,
        )
    if as_json:
        echo(json.dumps([m.to_dict() for m in models], indent=1))
    else:
        echo(format_models_table(models), nl=False)
    for model in models:
        if model.quant == "file" or classes != 1000 or weights is not None:
            continue  # only the harness's own recipe is expected to match the tables
        if not model.matches_published:
            check = model.published_check
            note = f" ({check.note})" if check.note else ""
            echo(
                f"warning: {model.variant.id} ({model.quant}): computed {check.macs_m} M MACs, "
                f"{check.params_m} M params differ from the published row{note}",
                err=True,
            )


def register(app: typer.Typer) -> None:
    """Add `harness convert`."""
    app.command("convert")(convert)
