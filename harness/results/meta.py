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
from harness.vocab import SEQUENTIAL_MAX_TRIALS, EnergySource, RunStatus, StopReason

__all__ = [
    "ArmRecord",
    "ArmSpec",
    "ConfigStop",
    "CoreChoice",
    "EnergySetup",
    "MeasuredSettings",
    "ModelFacts",
    "OwnModelSpec",
    "RunMeta",
    "SequentialRecord",
]


class ArmSpec(TypedDict):
    """One arm of an A/B run as given and stored (`settings.arms`, so `--resume` restores it)."""

    label: str
    binary: str | None  # host path; None: the run's default binary
    models: str | None  # folder of .tflite files; None: the converted models


class OwnModelSpec(TypedDict):
    """A model of the user's own as given (`--model LABEL=PATH`) and stored
    (`settings.own_models`, so `--resume` measures it again)."""

    label: str  # the configuration's `variant`
    path: str  # the .tflite file on the host


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
    # Sequential trials (`--until-confident`; docs/run.md): absent from runs without them.
    until_confident: bool = field(default=False, metadata=OPTIONAL)
    target_ci: float = field(default=0.02, metadata=OPTIONAL)
    budget_s: float | None = field(default=None, metadata=OPTIONAL)
    max_trials: int = field(default=SEQUENTIAL_MAX_TRIALS, metadata=OPTIONAL)
    until_decided: bool = field(default=False, metadata=OPTIONAL)  # A/B: `--until-decided`
    equivalence: float = field(default=0.02, metadata=OPTIONAL)
    accelerators: tuple[str, ...] = ("cpu",)  # absent in runs made before units were an axis
    allow_fallback: bool = False
    # Models of the user's own (`--model`); absent in runs made before they could be given.
    own_models: tuple[OwnModelSpec, ...] = ()
    # Energy per inference (`harness run --energy`); absent in runs made before it.
    energy: bool = field(default=False, metadata=OPTIONAL)
    energy_on_usb: bool = field(default=False, metadata=OPTIONAL)
    energy_rails: tuple[str, ...] = field(default=(), metadata=OPTIONAL)


@dataclass(frozen=True)
class ModelFacts(Stored):
    """meta.json `models["variant|quant"]`: a model a run measured, as our flatbuffer reader
    counts it. A converted model's file is the cache's; a model the user gave (`--model`,
    an A/B arm's folder) also says where it came from and what it takes and runs."""

    sha256: str | None
    size_bytes: int | None
    macs: int | None
    weight_params: int | None
    path: str | None = field(default=None, metadata=OPTIONAL)
    input_shape: tuple[int, ...] | None = field(default=None, metadata=OPTIONAL)
    input_dtype: str | None = field(default=None, metadata=OPTIONAL)
    ops: Mapping[str, int] | None = field(default=None, metadata=OPTIONAL)  # op -> node count


@dataclass(frozen=True)
class ArmRecord(Stored):
    """meta.json `arms[label]` of an A/B run: its binary, its models folder, its models."""

    binary: str | None
    models_dir: str | None
    models: Mapping[str, ModelFacts]  # "variant|quant" -> the arm's model


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
class ConfigStop(Stored):
    """meta.json `sequential.stops["device|config"]`: how many trials a configuration got
    and why it got no more (`reason`: the interval, CV and target, in words)."""

    trials: int
    stop_reason: StopReason
    reason: str


@dataclass(frozen=True)
class SequentialRecord(Stored):
    """meta.json `sequential`: the trials added where the doubt was (`--until-confident`).

    `since`: the position in `order` where the phone-time budget starts counting;
    `stops`: each configuration that got no more trials, and why; `configs`: the
    configuration keys a `--more` pass measures (absent: every configuration).
    """

    since: int
    stops: Mapping[str, ConfigStop]
    configs: tuple[str, ...] | None = field(default=None, metadata=OPTIONAL)


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
    sequential: SequentialRecord | None = field(default=None, metadata=OPTIONAL)
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
