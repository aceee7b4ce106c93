"""Models of the user's own (`harness run --model [LABEL=]PATH`), measured as a variant is.

A user's `.tflite` file is a configuration like a catalogue variant: its label
is the configuration's `variant`, its quant is `file` (its quantisation is its
own, as for `harness convert --from`), and it crosses every other axis
(threads, cores, XNNPACK, compute units). Its facts come from our flatbuffer
reader, as a converted model's do, and meta.json keeps them with its sha256
and path (`models["LABEL|file"]`). Every file is read and analysed when the
settings are checked, so a bad one is one line before any device is touched.
A label may not be a catalogue id: its rows would read as that variant's,
beside a published figure that was never of this model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import catalogue
from harness.bench.arms import LABEL_RE, model_facts
from harness.bench.target import ModelFile
from harness.convert.analysis import ModelAnalysis, analyze_bytes
from harness.convert.archive import read_tflite
from harness.convert.core import FILE_QUANT
from harness.errors import PlanError, UnknownVariantError
from harness.results.meta import ModelFacts, OwnModelSpec


@dataclass(frozen=True)
class OwnModel:
    """One of the user's models, read and analysed on the host."""

    label: str
    path: Path
    sha256: str
    analysis: ModelAnalysis

    @property
    def file(self) -> ModelFile:
        """The model as the run pushes it: `variant` is its label, `quant` is `file`."""
        return ModelFile(self.label, FILE_QUANT, self.path, self.sha256)

    @property
    def key(self) -> str:
        """Its key in meta.json `models`, as a converted model's `variant|quant`."""
        return f"{self.label}|{FILE_QUANT}"

    def facts(self) -> ModelFacts:
        """What meta.json keeps of it: path, sha256, size, MACs, parameters, input, ops."""
        return model_facts(self.path, self.sha256, self.analysis)


def spec(value: str) -> OwnModelSpec:
    """`LABEL=PATH` or `PATH` (labelled by the file's name without `.tflite`) as given.

    A head before `=` that holds a `/` is part of a path (`./a=b.tflite`).
    """
    head, sep, tail = value.partition("=")
    if sep and "/" not in head:
        return OwnModelSpec(label=head, path=tail)
    return OwnModelSpec(label=Path(value).name.removesuffix(".tflite"), path=value)


def check_labels(specs: Sequence[OwnModelSpec]) -> None:
    """PlanError (exit 2) for a label that cannot name a configuration, is given twice
    (or twice but for case), or is a catalogue variant's id."""
    seen: dict[str, str] = {}
    for one in specs:
        label, path = one["label"], one["path"]
        if not path:
            raise PlanError(f"--model {label}: names no file")
        if not LABEL_RE.fullmatch(label):
            raise PlanError(
                f"--model {path}: label {label!r} cannot name a configuration",
                hint="give one: --model LABEL=PATH, LABEL of letters, digits, `.`, `_` or `-` "
                "(at most 40), starting with a letter or digit",
            )
        other = seen.get(label.lower())
        if other is not None:
            raise PlanError(
                f"--model: two models labelled {label!r}"
                + ("" if other == label else f" (and {other!r}: only case differs)"),
                hint="label each file: --model LABEL=PATH",
            )
        seen[label.lower()] = label
        if _is_variant(label):
            raise PlanError(
                f"--model {path}: label {label!r} is a catalogue variant's id",
                hint="its rows would read as that variant's, beside its published figure; "
                "give another label: --model LABEL=PATH",
            )


def _is_variant(label: str) -> bool:
    try:
        catalogue.get(label)
    except UnknownVariantError:
        return False
    return True


def load(one: OwnModelSpec) -> OwnModel:
    """Read and analyse one file; ModelError or InputFileError (exit 2, one line naming
    the file) when it is missing, unreadable, not a regular file, over the size limit,
    not a TFLite flatbuffer, or truncated."""
    path = Path(one["path"])
    data = read_tflite(path)
    analysis = analyze_bytes(data, path=str(path))
    return OwnModel(one["label"], path, hashlib.sha256(data).hexdigest(), analysis)


def load_all(specs: Sequence[OwnModelSpec]) -> list[OwnModel]:
    """Every model given, checked and analysed, in the order given."""
    check_labels(specs)
    return [load(one) for one in specs]
