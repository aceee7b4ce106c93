"""A/B arms on the host: what each arm measures, and where arms' models differ.

A stored baseline is days old and its phone has drifted since; measuring both
sides in one session, trial next to trial, lets the drift hit both alike
(docs/run.md "A/B runs"). An arm is a label with a benchmark binary and a
folder of models, each optional (missing: the run's default binary / the
converted models). The command line reads arms from its options
(`harness.cli.arm_options`), `check_arms` checks their files with the
other settings, preparation pushes them (`harness.bench.prepare`), a
resume checks them (`harness.stages.resume`), and the interleaved trial order
is `harness.bench.arm_plan`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench.target import ModelFile
from harness.convert.analysis import ModelAnalysis, analyze
from harness.errors import PlanError
from harness.inputs import MODEL_BYTES, sha256_file
from harness.results.meta import ArmRecord, ArmSpec, MeasuredSettings, ModelFacts

# Labels (an arm's, a model's own) name trial ids, report legends and files: letters,
# digits, `.`, `_`, `-`.
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def model_facts(path: Path, sha256: str, a: ModelAnalysis) -> ModelFacts:
    """What meta.json keeps of a model the user gave: where it came from, what it takes
    (input shape and type), what it runs (op -> node count) and its size and cost."""
    return ModelFacts(
        path=str(path),
        sha256=sha256,
        size_bytes=a.size_bytes,
        macs=a.macs,
        weight_params=a.weight_params,
        input_shape=tuple(a.input_shape),
        input_dtype=a.input_dtype,
        ops=a.ops,
    )


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
    arm: ArmSpec,
    variants: Sequence[str],
    quants: Sequence[str],
    converted: Sequence[ModelFile],
    own: Sequence[ModelFile] = (),
) -> list[ModelFile]:
    """The model files one arm measures: its folder's, else the converted ones; and the
    user's own models (`--model`), which every arm measures alike."""
    if arm["models"] is None:
        return [*converted, *own]
    out = list(own)
    for v in variants:
        for q in quants:
            path = model_path(Path(arm["models"]), v, q)
            if path is None:  # validated before; a file removed since is still an input error
                raise PlanError(f"arm {arm['label']}: {v} ({q}) vanished from {arm['models']}")
            out.append(ModelFile(v, q, path, sha256_file(path, limit=MODEL_BYTES, what="a model")))
    return out


def model_differences(
    per_arm: Mapping[str, Sequence[ModelFile]],
) -> tuple[list[str], dict[str, dict[str, ModelFacts]]]:
    """Warnings where arms' models differ in input (shape, dtype) or op set; each one's analysis.

    Such a difference may be the point of the experiment, but a reader of the
    verdict should see it (a different graph is not the same workload).
    """
    seen: dict[tuple[str, str], list[tuple[str, str, frozenset[str]]]] = {}
    analyses: dict[str, dict[str, ModelFacts]] = {}
    for label, files in per_arm.items():
        for m in files:
            a = analyze(m.path)
            analyses.setdefault(label, {})[f"{m.variant}|{m.quant}"] = model_facts(
                m.path, m.sha256, a
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
    own: Sequence[ModelFile] = (),
) -> ResolvedArms:
    """Hash and analyse every arm's models (as converted ones are); warn where arms differ."""
    files = {
        a["label"]: (
            Path(a["binary"]) if a["binary"] else None,
            arm_models(a, variants, quants, converted, own),
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


def arm_note(settings: MeasuredSettings) -> str | None:
    """What a reader of an A/B run's summary table must know: it pools the arms."""
    if not settings.arms:
        return None
    labels = ", ".join(str(a.get("label")) for a in settings.arms)
    return (
        f"A/B run (arms {labels}): the summary pools the arms; compare them with "
        "`harness check --ab RUN_DIR` (or see the report's A/B section)"
    )
