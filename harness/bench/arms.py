"""A/B arms: two (or more) binaries or model sets measured in one run, interleaved.

A stored baseline is days old and its phone has drifted since; measuring both
sides in one session, trial next to trial, lets the drift hit both alike
(docs/run.md "A/B runs"). An arm is a label with a benchmark binary and a
folder of models, each optional (missing: the run's default binary / the
converted models). Everything here is decided before a device is touched:
bad labels and a model file an arm lacks. The interleaved trial order is
`harness.bench.arm_plan`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.bench.command import build_command
from harness.convert.analysis import analyze
from harness.errors import PlanError, ResultsError
from harness.inputs import MODEL_BYTES, sha256_file
from harness.results.meta import ArmModel, ArmRecord, ArmSpec, MeasuredSettings
from harness.vocab import Config

if TYPE_CHECKING:
    from harness.bench.prepare import ModelFile
    from harness.bench.trial import DeviceModel
    from harness.device.session import DeviceSession
    from harness.identity import BinaryInfo

# Labels name trial ids, report legends and files: letters, digits, `.`, `_`, `-`.
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


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
    """`--benchmark-binary [LABEL=]PATH` and `--models [LABEL=]DIR` -> (default binary, arms).

    Each distinct label is an arm, binaries' labels first, in the order given;
    an unlabelled value applies to every arm. No label at all: no arms, and
    the run is a plain run (the unlabelled binary is its binary, as always).
    """
    plain_binary, labelled_binaries = _labelled(binaries, "--benchmark-binary")
    plain_models, labelled_models = _labelled(models, "--models")
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
            "--models without a label needs labelled arms",
            hint="e.g. --models new=DIR (one arm) or --models old=DIR --models new=DIR",
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


def model_path(folder: Path, variant: str, quant: str) -> Path | None:
    """An arm's file for (variant, quant): `ID-QUANT.tflite`, or `ID.tflite` for fp32."""
    names = [f"{variant}-{quant}.tflite"] + ([f"{variant}.tflite"] if quant == "fp32" else [])
    found: list[Path] = [folder / name for name in names if (folder / name).is_file()]
    return found[0] if found else None


def check_arms(arms: Sequence[ArmSpec], variants: Sequence[str], quants: Sequence[str]) -> None:
    """PlanError (exit 2) for an arm whose binary or model files are not there."""
    for arm in arms:
        if arm["binary"] is not None and not Path(arm["binary"]).is_file():
            raise PlanError(f"arm {arm['label']}: benchmark binary {arm['binary']} is not a file")
        if arm["models"] is None:
            continue
        folder = Path(arm["models"])
        if not folder.is_dir():
            raise PlanError(f"arm {arm['label']}: models folder {folder} is not a folder")
        lacking = [
            f"{v}-{q}.tflite" for v in variants for q in quants if model_path(folder, v, q) is None
        ]
        if lacking:
            more = f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
            raise PlanError(
                f"arm {arm['label']}: {folder} lacks {', '.join(lacking[:3])}{more}",
                hint="name files by variant id, ID.tflite (fp32) or ID-QUANT.tflite",
            )


def arm_models(
    arm: ArmSpec, variants: Sequence[str], quants: Sequence[str], converted: Sequence[ModelFile]
) -> list[ModelFile]:
    """The model files one arm measures: its folder's, else the converted ones."""
    # bench.prepare imports this module at its top: an import circle until arms is split by job.
    from harness.bench.prepare import ModelFile

    if arm["models"] is None:
        return list(converted)
    out = []
    for v in variants:
        for q in quants:
            path = model_path(Path(arm["models"]), v, q)
            if path is None:  # check_arms ran first; a file removed since is still an input error
                raise PlanError(f"arm {arm['label']}: {v} ({q}) vanished from {arm['models']}")
            out.append(ModelFile(v, q, path, sha256_file(path, limit=MODEL_BYTES, what="a model")))
    return out


def model_differences(
    per_arm: Mapping[str, Sequence[ModelFile]],
) -> tuple[list[str], dict[str, dict[str, ArmModel]]]:
    """Warnings where arms' models differ in input (shape, dtype) or op set; each one's analysis.

    Such a difference may be the point of the experiment, but a reader of the
    verdict should see it (a different graph is not the same workload).
    """
    seen: dict[tuple[str, str], list[tuple[str, str, frozenset[str]]]] = {}
    analyses: dict[str, dict[str, ArmModel]] = {}
    for label, files in per_arm.items():
        for m in files:
            a = analyze(m.path)
            analyses.setdefault(label, {})[f"{m.variant}|{m.quant}"] = ArmModel(
                path=str(m.path),
                sha256=m.sha256,
                size_bytes=a.size_bytes,
                macs=a.macs,
                weight_params=a.weight_params,
                input_shape=tuple(a.input_shape),
                input_dtype=a.input_dtype,
                ops=a.ops,
            )
            seen.setdefault((m.variant, m.quant), []).append(
                (label, f"{a.input_shape} {a.input_dtype}", frozenset(a.ops))
            )
    warnings = []
    for (v, q), entries in seen.items():
        first_label, first_shape, first_ops = entries[0]
        for label, shape, ops in entries[1:]:
            if shape != first_shape:
                warnings.append(
                    f"{v} ({q}): arm {label}'s model takes input {shape}, "
                    f"arm {first_label}'s {first_shape}"
                )
            if ops != first_ops:
                only = sorted(ops ^ first_ops)
                warnings.append(
                    f"{v} ({q}): arms {first_label} and {label} use different ops "
                    f"({', '.join(only)})"
                )
    return warnings, analyses


def prepare_arms(
    session: DeviceSession,
    arms: Mapping[str, tuple[Path | None, Sequence[ModelFile]]],
    *,
    default_binary: Path | None,
    configs: Sequence[Config],
    runs: int,
    warmup: int,
) -> tuple[dict[str, tuple[BinaryInfo, dict[tuple[str, str], DeviceModel]]], list[str]]:
    """Push each arm's binary and models to one device; (label -> its target parts, notes).

    Pushes are hashed, so arms sharing a binary or a model cost one transfer.
    The notes are what a binary cannot do as asked, as `prepare_device` says
    for the run's own binary.
    """
    # The device half of arms loads when it runs: the CLI imports this module to read
    # options, and harness.device.adb checks the adb environment as it loads (see harness.cli).
    from harness.bench.trial import DeviceModel
    from harness.device import files
    from harness.device.binary import prepare_binary

    out: dict[str, tuple[BinaryInfo, dict[tuple[str, str], DeviceModel]]] = {}
    notes: dict[str, None] = {}
    for label, (binary_path, models) in arms.items():
        path = binary_path or default_binary
        binary = prepare_binary(session, str(path) if path else None)
        for cfg in configs:
            command = build_command(
                binary.device_path,
                binary.flags,
                graph="x",
                threads=cfg.threads,
                runs=runs,
                warmup=warmup,
                xnnpack=cfg.xnnpack,
            )
            notes.update(dict.fromkeys(f"arm {label}: {n}" for n in command.notes))
        pushed = files.push_many(
            session, [(m.path, f"models/{m.sha256[:16]}-{m.path.name}") for m in models]
        )
        out[label] = (
            binary,
            {
                (m.variant, m.quant): DeviceModel(path=o.remote, sha256=m.sha256)
                for m, o in zip(models, pushed, strict=True)
            },
        )
    return out, list(notes)


@dataclass
class ResolvedArms:
    """Each arm's files on the host, what differs between them, and what meta.json keeps."""

    files: dict[str, tuple[Path | None, list[ModelFile]]]
    warnings: list[str]
    meta: dict[str, ArmRecord]


def resolve_arms(
    arms: Sequence[ArmSpec],
    variants: Sequence[str],
    quants: Sequence[str],
    converted: Sequence[ModelFile],
) -> ResolvedArms:
    """Hash and analyse every arm's models (as converted ones are); warn where arms differ."""
    files = {
        a["label"]: (
            Path(a["binary"]) if a["binary"] else None,
            arm_models(a, variants, quants, converted),
        )
        for a in arms
    }
    warnings, analyses = model_differences({label: f[1] for label, f in files.items()})
    meta = {
        a["label"]: ArmRecord(
            binary=a["binary"], models_dir=a["models"], models=analyses.get(a["label"], {})
        )
        for a in arms
    }
    return ResolvedArms(files, warnings, meta)


def check_resumed_arms(stored: Mapping[str, ArmRecord], now: ResolvedArms, run_dir: Path) -> None:
    """A resumed A/B run must measure each arm with the models it started with."""
    for label, entry in now.meta.items():
        then = stored.get(label)
        if then is None:
            continue
        for key, model in entry.models.items():
            old = then.models.get(key)
            if old is not None and old.sha256 not in (None, model.sha256):
                raise ResultsError(
                    f"arm {label}: model {key.replace('|', ' (')}) changed since this run started",
                    path=str(run_dir),
                    hint="start a new run (the arm's folder changed)",
                )


def arm_note(settings: MeasuredSettings) -> str | None:
    """What a reader of an A/B run's summary table must know: it pools the arms."""
    if not settings.arms:
        return None
    labels = ", ".join(str(a.get("label")) for a in settings.arms)
    return (
        f"A/B run (arms {labels}): the summary pools the arms; compare them with "
        "`harness check --ab RUN_DIR` (or see the report's A/B section)"
    )
