"""What meta.json may hold, as types, and the one check of a stored value against a type.

Readers of a run (`check`, `report`, `trend`, `--resume`) index into
meta.json's sections: a device entry's `clusters`, a trial's `cooled`, the
run's `seed`. A string where an object belongs used to end in an
AttributeError far from the file (exit 70). `fields_checker` checks stored
values against types (the TrialRecord's annotations for a trials.jsonl line,
`MetaShape` below for meta.json) before anything reads them, naming the path
of the first value that breaks its type. Keys a type does not declare are not
checked (a newer harness may add some); JSON numbers must be finite, and
integers fit in 64 bits (what a table's integer column holds).
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypedDict, Union

from harness.vocab import BinaryKind, RunStatus


class ClusterShape(TypedDict, total=False):
    """One CPU cluster of a device (harness.device.cores.Cluster.to_dict)."""

    id: int
    cpus: list[int]
    max_khz: int | None
    governor: str | None
    online: list[int]


class ZoneShape(TypedDict, total=False):
    """One thermal zone as `harness devices` read it."""

    zone: str | None
    type: str | None
    temp_c: float | None


class DeviceShape(TypedDict, total=False):
    """meta.json `devices[serial]`: harness.device.info.DeviceInfo.to_dict()."""

    serial: str
    state: str
    model: str | None
    device: str | None
    product: str | None
    manufacturer: str | None
    platform: str | None
    hardware: str | None
    android_release: str | None
    sdk: int | None
    fingerprint: str | None
    abi: str | None
    abilist: list[str]
    kernel: str | None
    clusters: list[ClusterShape]
    masks: dict[str, str]
    thermal_zones: list[ZoneShape]
    battery_level: int | None
    battery_temp_c: float | None
    screen_on: bool | None
    emulated: bool
    features: list[str]
    warnings: list[str]
    props: dict[str, str | None]


class BinaryShape(TypedDict, total=False):
    """meta.json `binaries[serial]`: harness.device.binary.BinaryInfo.to_dict()."""

    kind: BinaryKind
    sha256: str | None
    device_path: str | None
    version_line: str | None
    flags: list[str]
    source: str | None


class ModelShape(TypedDict, total=False):
    """meta.json `models["variant|quant"]`, and an arm's models (with their analysis)."""

    sha256: str | None
    size_bytes: int | None
    macs: int | None
    weight_params: int | None
    path: str | None
    input_shape: list[int] | None
    input_dtype: str | None
    ops: dict[str, int] | None


class CoresShape(TypedDict, total=False):
    """meta.json `cores[serial][policy]`: the mask and CPUs a policy chose."""

    mask: str
    cpus: list[int]
    verified: bool


class ArmSpecShape(TypedDict, total=False):
    """One arm of `settings.arms` (harness.bench.arms.ArmSpec)."""

    label: str
    binary: str | None
    models: str | None


class ArmShape(TypedDict, total=False):
    """meta.json `arms[label]` of an A/B run."""

    binary: str | None
    models_dir: str | None
    models: dict[str, ModelShape]


class SettingsShape(TypedDict, total=False):
    """meta.json `settings`: RunSettings.measured() and the devices asked for."""

    variants: list[str]
    quants: list[str]
    threads: list[int]
    cores: list[str]
    trials: int
    runs: int
    warmup: int
    xnnpack: str
    cooldown_temp_c: float | None
    cooldown_timeout_s: float
    op_profile: bool
    trial_timeout_s: float
    arms: list[ArmSpecShape]
    devices: list[str]


class MetaShape(TypedDict, total=False):
    """meta.json (harness.results.schema.RunMeta and the sections it leaves loose)."""

    schema_version: int
    run_id: str
    seed: int | None  # None: not recorded (a resume refuses such a run)
    settings: SettingsShape
    devices: dict[str, DeviceShape]
    binaries: dict[str, BinaryShape]
    models: dict[str, ModelShape]
    order: list[str]
    cores: dict[str, dict[str, CoresShape]]
    fixed_performance: dict[str, bool | None]
    git_commit: str | None
    label: str | None
    tf_version: str | None
    converter: str | None
    harness_version: str | None
    created_at: str | None
    finished_at: str | None
    status: RunStatus | None
    missing: dict[str, int] | None
    arms: dict[str, ArmShape]


class ProfileShape(TypedDict, total=False):
    """One line of profiles.jsonl (harness.bench.profile): an op-profiling process."""

    device_serial: str
    device_model: str
    config: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    core_mask: str
    status: str
    error: str | None
    num_runs: int
    profiled_avg_us: float | None
    wall_s: float | None
    ops: list[dict[str, Any]]
    binary_sha256: str | None
    model_sha256: str | None


INT64 = (-(2**63), 2**63 - 1)
_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def describe(tp: Any) -> str:
    """A type as a reader of the message says it: `an integer or null`, `a list`."""
    origin = typing.get_origin(tp)
    if tp is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is list:
        return "a list"
    if origin is dict or typing.is_typeddict(tp):
        return "an object"
    return _WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    for tp, word in ((int, "an integer"), (float, "a number"), (str, "a string")):
        if isinstance(value, tp):
            return word
    return "a list" if isinstance(value, list) else "an object"


# A checker takes a value and answers None (it fits) or (path below it, what is wrong):
# (".clusters[0].cpus", "is a string, not a list"). The path is built only on failure.
Problem = tuple[str, str]
Checker = Callable[[Any], "Problem | None"]


def fields_checker(hints: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], str | None]:
    """A check of an object's fields against `hints` (name -> type), built once: it answers
    None, or where the first value that breaks its type is and how (`devices['X'].clusters
    is a string, not a list`). Fields `hints` does not name are not checked."""
    check = _fields(dict(hints))

    def problem(data: Mapping[str, Any]) -> str | None:
        found = check(data)
        return None if found is None else f"{found[0].removeprefix('.')} {found[1]}"

    return problem


def _not(value: Any, tp: Any) -> Problem:
    shown = repr(value) if isinstance(value, (str, int, float, bool)) else None
    return (
        "",
        f"{shown} is not {describe(tp)}" if shown else f"is {_kind(value)}, not {describe(tp)}",
    )


def _finite(value: Any) -> Problem | None:
    if isinstance(value, float) and not math.isfinite(value):
        return ("", f"{value!r} is not finite")
    return None


@functools.cache
def _checker(tp: Any) -> Checker:
    """A function checking values against `tp`, built once per type (a trial line has 70)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda _value: None
    if origin in (Union, types.UnionType):
        return _union(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        return lambda value: None if value in allowed else _not(value, tp)
    if origin is list:
        return _list(tp)
    if origin is dict or typing.is_typeddict(tp):
        return _object(tp)
    return _scalar(tp)


def _scalar(tp: Any) -> Checker:
    if tp is type(None):
        return lambda value: None if value is None else ("", f"is {_kind(value)}, not null")
    if tp is float:

        def check_float(value: Any) -> Problem | None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _finite(value)
            return _not(value, tp)

        return check_float
    if tp is int:

        def check_int(value: Any) -> Problem | None:
            if not isinstance(value, int) or isinstance(value, bool):
                return _not(value, tp)
            if not INT64[0] <= value <= INT64[1]:  # what a table's integer column holds
                return ("", "is an integer outside the 64-bit range")
            return None

        return check_int
    return lambda value: None if isinstance(value, tp) else _finite(value) or _not(value, tp)


def _union(tp: Any) -> Checker:
    args = typing.get_args(tp)
    nullable = type(None) in args
    members = [(_checker(arg), describe(arg)) for arg in args if arg is not type(None)]

    def check(value: Any) -> Problem | None:
        if value is None and nullable:
            return None
        found = []
        for check_one, _word in members:
            problem = check_one(value)
            if problem is None:
                return None
            found.append(problem)
        # Of a container of the right kind, say what inside it is wrong.
        kind = _kind(value)
        for (_check, word), problem in zip(members, found, strict=True):
            if word == kind:
                return problem
        return _finite(value) or ("", f"is {kind}, not {describe(tp)}")

    return check


def _list(tp: Any) -> Checker:
    (item,) = typing.get_args(tp)
    check_item = _checker(item)

    def check(value: Any) -> Problem | None:
        if not isinstance(value, list):
            return ("", f"is {_kind(value)}, not a list")
        for i, v in enumerate(value):
            found = check_item(v)
            if found is not None:
                return (f"[{i}]{found[0]}", found[1])
        return None

    return check


def _object(tp: Any) -> Checker:
    if typing.get_origin(tp) is dict:  # keys are data (serials, labels): shown quoted
        check_item = _checker(typing.get_args(tp)[1])

        def check_dict(value: Any) -> Problem | None:
            if not isinstance(value, dict):
                return ("", f"is {_kind(value)}, not an object")
            for key, v in value.items():
                found = check_item(v)
                if found is not None:
                    return (f"[{key!r}]{found[0]}", found[1])
            return None

        return check_dict
    return _fields(typing.get_type_hints(tp))


def _fields(hints: dict[str, Any]) -> Checker:
    fields = {key: _checker(sub) for key, sub in hints.items()}

    def check_fields(value: Any) -> Problem | None:  # keys are names; others are not checked
        if not isinstance(value, dict):
            return ("", f"is {_kind(value)}, not an object")
        for key, v in value.items():
            check_one = fields.get(key)
            found = check_one(v) if check_one is not None else None
            if found is not None:
                return (f".{key}{found[0]}", found[1])
        return None

    return check_fields
