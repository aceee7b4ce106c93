"""`--benchmark-binary [LABEL=]PATH` and `--arm-models [LABEL=]DIR`: the arms of an A/B run.

Only the command line writes arms this way; a script gives `RunSettings.arms`
as `ArmSpec`s (harness.bench.arms). Labels are checked here, before anything
else runs: they name trial ids, report legends and files.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.bench.arms import LABEL_RE
from harness.errors import PlanError
from harness.results.meta import ArmSpec


def _split_label(value: str, option: str) -> tuple[str | None, str]:
    """`LABEL=PATH` -> (LABEL, PATH); a head with a `/` is part of a path (`./a=b`)."""
    head, sep, tail = value.partition("=")
    if not sep or "/" in head:
        return None, value
    if not LABEL_RE.fullmatch(head):
        raise PlanError(
            f"{option}: arm label {head!r} cannot go into a file name",
            hint="use letters, digits, `.`, `_` or `-` (at most 40), starting with a letter "
            "or digit; write ./PATH for a path that contains `=`",
        )
    if not tail:
        raise PlanError(f"{option}: arm {head!r} names no path")
    return head, tail


def _labelled(values: Sequence[str], option: str) -> tuple[str | None, dict[str, str]]:
    """The option's unlabelled value (at most one) and its LABEL -> PATH entries."""
    plain: str | None = None
    out: dict[str, str] = {}
    folded: dict[str, str] = {}
    for value in values:
        label, path = _split_label(value, option)
        if label is None:
            if plain is not None:
                raise PlanError(
                    f"{option} given twice without a label: {plain}, {path}",
                    hint=f"label each arm: {option} LABEL=PATH",
                )
            plain = path
            continue
        # Case-insensitive file systems would store two such arms under one name.
        other = folded.get(label.lower())
        if other is not None:
            raise PlanError(
                f"two arms with the same label {label!r} in {option}"
                + ("" if other == label else f" (and {other!r}: only case differs)")
            )
        folded[label.lower()] = label
        out[label] = path
    return plain, out


def parse_arms(binaries: Sequence[str], models: Sequence[str]) -> tuple[str | None, list[ArmSpec]]:
    """`--benchmark-binary [LABEL=]PATH` and `--arm-models [LABEL=]DIR` -> (default binary, arms).

    Each distinct label is an arm, binaries' labels first, in the order given;
    an unlabelled value applies to every arm. No label at all: no arms, and
    the run is a plain run (the unlabelled binary is its binary, as always).
    """
    plain_binary, labelled_binaries = _labelled(binaries, "--benchmark-binary")
    plain_models, labelled_models = _labelled(models, "--arm-models")
    labels = list(dict.fromkeys([*labelled_binaries, *labelled_models]))
    folded: dict[str, str] = {}
    for label in labels:
        other = folded.setdefault(label.lower(), label)
        if other != label:
            raise PlanError(
                f"arm labels {other!r} and {label!r} differ only in case",
                hint="they would share files on a case-insensitive file system",
            )
    if not labels and plain_models is not None:
        raise PlanError(
            "--arm-models without a label needs labelled arms",
            hint="e.g. --arm-models new=DIR (one arm) or --arm-models old=DIR --arm-models new=DIR",
        )
    arms: list[ArmSpec] = [
        ArmSpec(
            label=label,
            binary=labelled_binaries.get(label, plain_binary),
            models=labelled_models.get(label, plain_models),
        )
        for label in labels
    ]
    return plain_binary, arms
