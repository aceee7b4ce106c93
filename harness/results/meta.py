"""meta.json as typed records: what a run measured, where, with what, and how it ended.

`RunMeta` and its sections are `harness.stored.Stored` records: built by the
run (`stages.prepare.create_store`), written by `RunStore`, read back by the
one validating reader (`harness.results.read.read_meta`, which checks every
stored value against these annotations first) and read by attribute
everywhere: no reader indexes meta.json's dict. A key an older harness did not
write stays absent, a key a newer one added is kept (`extra`), so a resumed
run writes back what it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from harness.identity import BinaryInfo, DeviceInfo
from harness.results.schema import SCHEMA_VERSION
from harness.stored import OPTIONAL, Stored
from harness.vocab import EnergySource, RunStatus

__all__ = [
    "ArmModel",
    "ArmRecord",
    "ArmSpec",
    "CoreChoice",
    "EnergySetup",
    "MeasuredSettings",
    "ModelFacts",
    "RunMeta",
]


class ArmSpec(TypedDict):
    """One arm of an A/B run as given and stored (`settings.arms`, so `--resume` restores it)."""

    label: str
    binary: str | None  # host path; None: the run's default binary
    models: str | None  # folder of .tflite files; None: the converted models


@dataclass(frozen=True)
class MeasuredSettings(Stored):
    """meta.json `settings`: the options that define what the trials measure
    (`RunSettings.measured()`) and the devices asked for."""

    variants: tuple[str, ...]
    quants: tuple[str, ...]
    threads: tuple[int, ...]
    cores: tuple[str, ...]
    trials: int
    runs: int
    warmup: int
    xnnpack: str
    cooldown_temp_c: float | None
    cooldown_timeout_s: float
    op_profile: bool
    trial_timeout_s: float
    arms: tuple[ArmSpec, ...]
    devices: tuple[str, ...]
    # Energy per inference (`harness run --energy`); absent in runs made before it.
    energy: bool = field(default=False, metadata=OPTIONAL)
    energy_on_usb: bool = field(default=False, metadata=OPTIONAL)
    energy_rails: tuple[str, ...] = field(default=(), metadata=OPTIONAL)


@dataclass(frozen=True)
class ModelFacts(Stored):
    """meta.json `models["variant|quant"]`: the converted model a run measured."""

    sha256: str | None
    size_bytes: int | None
    macs: int | None
    weight_params: int | None


@dataclass(frozen=True)
class ArmModel(ModelFacts):
    """An A/B arm's model: its facts, where it came from and what it takes and runs."""

    path: str | None
    input_shape: tuple[int, ...] | None
    input_dtype: str | None
    ops: Mapping[str, int] | None  # op type -> node count


@dataclass(frozen=True)
class ArmRecord(Stored):
    """meta.json `arms[label]` of an A/B run: its binary, its models folder, its models."""

    binary: str | None
    models_dir: str | None
    models: Mapping[str, ArmModel]  # "variant|quant" -> the arm's model


@dataclass(frozen=True)
class CoreChoice(Stored):
    """meta.json `cores[serial][policy]`: the mask and CPUs a core policy chose on a phone.

    `verified`: the topology showed these CPUs are what the policy means; `reason`
    says why not.
    """

    mask: str
    cpus: tuple[int, ...]
    verified: bool
    reason: str | None


@dataclass(frozen=True)
class EnergySetup(Stored):
    """meta.json `energy[serial]`: where a phone's energy was read (`harness run --energy`).

    `biased`: the fuel gauge while a charger carried the load (`--energy-on-usb`).
    """

    source: EnergySource
    rails: tuple[str, ...]  # odpm: the rails summed; () for the gauge (the whole phone)
    subsystems: Mapping[str, str]  # rail -> what it feeds, as the meter says (CPU(BIG))
    on_usb: bool
    biased: bool


@dataclass(frozen=True)
class RunMeta(Stored):
    """meta.json: what a run measured, where, with what, and how it ended.

    `RunStore.create` fills run_id, created_at, status and harness_version
    when they are empty. Keys this version does not know are kept in `extra`
    and written back, so a newer harness's additions survive a resume.
    """

    seed: int | None  # None: not recorded (a resume refuses such a run)
    settings: MeasuredSettings
    devices: Mapping[str, DeviceInfo]  # serial -> the phone
    binaries: Mapping[str, BinaryInfo]  # serial -> its benchmark binary
    models: Mapping[str, ModelFacts]  # "variant|quant" -> the converted model
    order: tuple[str, ...]  # the planned trial ids, in the order they run
    cores: Mapping[str, Mapping[str, CoreChoice]] = field(default_factory=dict)
    fixed_performance: Mapping[str, bool | None] = field(default_factory=dict)
    git_commit: str | None = None
    # `harness run --label`: the release, commit or build measured.
    label: str | None = field(default=None, metadata=OPTIONAL)
    tf_version: str | None = None
    converter: str | None = None
    harness_version: str | None = field(default=None, metadata=OPTIONAL)
    run_id: str = field(default="", metadata=OPTIONAL)  # "" until RunStore.create names it
    created_at: str | None = field(default=None, metadata=OPTIONAL)
    finished_at: str | None = None  # null until the run ends
    status: RunStatus | None = field(default=None, metadata=OPTIONAL)
    # Planned trials without a record, per device (when the run ended).
    missing: Mapping[str, int] | None = field(default=None, metadata=OPTIONAL)
    arms: Mapping[str, ArmRecord] = field(default_factory=dict, metadata=OPTIONAL)  # A/B run
    # serial -> its energy source, with `--energy` (docs/run.md "Energy").
    energy: Mapping[str, EnergySetup] = field(default_factory=dict, metadata=OPTIONAL)
    schema_version: int = SCHEMA_VERSION

    def device(self, serial: str) -> DeviceInfo:
        """The phone stored for `serial`; an empty record (every key absent) if none is."""
        found = self.devices.get(serial)
        return found if found is not None else DeviceInfo.from_dict({})

    def binary(self, serial: str) -> BinaryInfo:
        """The benchmark binary stored for `serial`; an empty record if none is."""
        found = self.binaries.get(serial)
        return found if found is not None else BinaryInfo.from_dict({})
