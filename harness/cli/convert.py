"""`harness convert`: catalogue variants -> cached `.tflite` files (or import ready ones)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from harness import catalogue, ranges
from harness.bench import own_models
from harness.bench.arms import LABEL_RE
from harness.catalogue import Variant
from harness.convert import ConvertedModel, convert_many, import_model, own
from harness.convert.core import check_quants
from harness.convert.listing import format_models_table
from harness.errors import HarnessError, OptionError
from harness.outputs import output_folder
from harness.results.meta import OwnModelSpec
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


def _is_own(value: str) -> bool:
    """Whether a `--from` value is a Keras model or SavedModel to convert ([LABEL=]PATH)."""
    return value != "official" and own.is_keras_source(own_models.spec(value)["path"])


def _own_specs(sources: list[str]) -> list[OwnModelSpec]:
    """The `--from` values that name a Keras model or SavedModel: label (None: from the
    name) and path."""
    specs = []
    for value in sources:
        one = own_models.spec(value)
        if _is_own(value):
            label = one["label"] if one["path"] != value else own.default_label(Path(value))
            specs.append(OwnModelSpec(label=label, path=one["path"]))
    return specs


def _check_own_labels(sources: list[own.OwnSource], quants: list[str]) -> None:
    """OptionError (exit 2) for a label `harness run --model` could not measure the
    converted files under (`<label>_<quant>`), or one given twice."""
    seen: set[str] = set()
    for one in sources:
        if one.label.lower() in seen:
            raise OptionError(
                f"--from: two models labelled {one.label!r}",
                option="--from",
                hint="label each: --from LABEL=PATH",
            )
        seen.add(one.label.lower())
        for quant in dict.fromkeys(quants):
            if not LABEL_RE.fullmatch(f"{one.label}_{quant}"):
                raise OptionError(
                    f"--from {one.path}: label {one.label!r} cannot name a model "
                    f"({one.label}_{quant})",
                    option="--from",
                    hint="give one: --from LABEL=PATH, LABEL of letters, digits, `.`, `_` or "
                    "`-`, starting with a letter or digit, short enough that LABEL_QUANT "
                    "has at most 40",
                )


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
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder: also place the files in it as <id>_<quant>.tflite."
        ),
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
            "or 'official' for each selected variant's published checkpoint; or convert "
            "[LABEL=]PATH, a Keras .keras/.h5 file or SavedModel folder, with --quant's "
            "recipes. Repeatable.",
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
    # The user's Keras models and SavedModels are checked (read, hashed) before anything
    # is imported or converted; their labels must suit `harness run --model`.
    own_sources = [own.check_source(Path(s["path"]), s["label"]) for s in _own_specs(sources or [])]
    if own_sources:
        check_quants(_split(quant))
        _check_own_labels(own_sources, _split(quant))
    ready = [src for src in sources or [] if not _is_own(src)]
    owned: list[own.OwnConverted] = []
    models: list[ConvertedModel] = []
    pairs: list[tuple[str, Variant | None]]
    if sources:
        if ready == ["official"]:
            variants = catalogue.select(
                catalogue.DEFAULT_SELECTION if selection is None else selection
            )
            pairs = [(_mirrored(v.checkpoint_url or ""), v) for v in variants]
        else:
            # Files name their variant, unless the user names it with --variants.
            named = catalogue.get(selection) if selection and ready else None
            pairs = [(src, named) for src in ready]
        models = [import_model(src, variant=v, out_dir=out) for src, v in pairs]
        for one in own_sources:
            owned += own.convert_source(
                one, _split(quant), jobs=jobs, out_dir=out, progress=progress
            )
    else:
        variants = catalogue.select(catalogue.DEFAULT_SELECTION if selection is None else selection)
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
        rows = [m.to_dict() for m in models] + [m.to_dict() for m in owned]
        echo(json.dumps(rows, indent=1))
    else:
        if models or not owned:
            echo(format_models_table(models), nl=False)
        if owned:
            echo(own.format_table(owned), nl=False)
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
