"""`harness variants`: the catalogue, published figures beside computed ones."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from harness import catalogue
from harness.catalogue.order import variant_size_key
from harness.convert.listing import format_variant_table, variant_rows
from harness.textsafe import echo


def variants(
    family: Annotated[
        str | None, typer.Option("--family", help="Only this family: v1 or v2.")
    ] = None,
    selection: Annotated[
        str,
        typer.Option(
            "--variants", help="Selection: all, ids, globs (mobilenet_v2_0.5_*), short (v2:1.0_*)."
        ),
    ] = "all",
    quant: Annotated[
        str, typer.Option("--quant", help="Whose cached model supplies the computed figures.")
    ] = "fp32",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout.")] = False,
) -> None:
    """List the known variants with their published figures (and computed ones when converted)."""
    chosen = sorted(
        catalogue.select(selection, family=family), key=lambda v: variant_size_key(v.id)
    )
    rows = variant_rows(chosen, quant=quant)
    if as_json:
        echo(json.dumps([r.to_dict() for r in rows], indent=1))
    else:
        echo(format_variant_table(rows), nl=False)


def register(app: typer.Typer) -> None:
    """Add `harness variants`."""
    app.command("variants")(variants)
