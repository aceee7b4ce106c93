"""The harness's vocabulary, and the words it stores and compares, spelled once.

Docs, messages and new code use these words; the code's names for each are in parentheses.

- variant: one catalogue entry, a family at a depth multiplier and an input resolution
  (`catalogue.Variant`; its id, e.g. `mobilenet_v2_1.0_224`).
- quant: how a variant is converted: `fp32`, `int8`, `dynamic`, `fp16` (`convert.QUANTS`),
  or `file` for a model imported as it is.
- model: a variant converted at a quant, one `.tflite`. On the host a model file
  (`bench.target.ModelFile`, made by `convert.ConvertedModel`); on a phone a pushed model.
- configuration: what a trial measures, whatever the device: variant, quant, threads,
  cores, xnnpack (`Config`; the field names are `CONFIG_FIELDS`). In code, `config` and
  `configs` name `Config`s.
- configuration key: a configuration as one string, `variant|quant|tN|cores|xnnpack=X`
  (`config_key`, `Config.key`). Stored files name its column and field `config` (trials,
  summaries, op profiles, `check --json`); stored names stay as they are.
- device: a phone, or the simulated one, named by its serial (`serial`; `device_serial` in
  records), reached through one session (`device.session.DeviceSession`) and described by
  `identity.DeviceInfo`. A device selection is what `--device` names (serials, names,
  aliases, `all`, `pool:`, `sim`).
- device model: a device's model name, `ro.product.model` (`DeviceInfo.model`;
  `device_model` in records, summaries and comparison rows). `check`, `trend` and the
  report pair devices by it.
- pushed model: a model file on a phone, under the harness's working folder there.
- binary: the benchmark_model a trial runs (`identity.BinaryInfo`; kinds `BINARY_KINDS`).
- trial: one benchmark_model process on one device, measuring one configuration with its
  warm-up runs and then its timed runs (benchmark_model's own "runs": `--warmup`, `--runs`).
  Its record is a `results.schema.TrialRecord`, its id `trial_id`:
  `serial|configuration key|index` (`serial|configuration key|ARM:index` in an A/B run).
- arm: in an A/B run, a label with its own binary and models (`ArmSpec`, `ArmRecord`,
  `TrialRecord.arm`); never part of the configuration key.
- plan: every trial of a run, per device, in the seeded order (`bench.plan.Plan` of
  `TrialSpec`s); stored as meta.json `order`.
- run: one `harness run` (or its `--resume`) from options to outcome, the act
  (`harness.run.run`, `RunSettings`, `RunOutcome`; named by its `run_id`).
- run folder: what a run leaves, `OUT/<run_id>/` (`run_dir`; written by
  `results.store.RunStore`, its meta.json read as `results.meta.RunMeta`).
- stage: one of a run's five steps, in order devices, plan, prepare, measure, finish: one
  module each in `harness.stages` (`settings`, `resume` and `label` there are helpers).
- baseline: a run folder reduced to a JSON file by `harness baseline save`; one side of
  `harness check`.

Old names still in the code (each disagrees with the words above; the next rename's list):

- `DeviceConfig` repeats `Config`'s five fields beside `device_model` instead of holding a
  `Config`; its `.configuration` is the `Config` and its `.config` the key.
- Properties named `config` that give the key, not a `Config`: `TrialRecord.config`,
  `ComparisonRow.config`, `DeviceConfig.config`.
- `ConfigId` and `.config_id`: the configuration as a tuple (a `Config` is hashable and
  could be the dict key); `compare/ab.py` spells `ConfigId` a second time.
- `harness.config` (`HarnessConfig`, `load_config`, the `config=` of `device.select` and
  `device.lab`) is the project settings file (`harness.toml`), not a configuration.
- `bench.target.DeviceModel` is a pushed model, not a device model (`DeviceTarget.models`,
  `DeviceTarget.arms`, `bench.prepare.prepare_arms` and `bench.record.Observed.model` hold
  them); `DeviceTarget.model_name` is the device model.
- "run" for what is not a run: `TrialRunner.run` measures one trial; `bench.runner` and
  `run_plan` are the measure stage's loop over the plan; `report.runs.DeviceRun` is one
  device of one run folder; `compare.source.read_run` and `results.load.run_dirs` read run
  folders.
- "devices" for three things: `TrialSpec.device`, `Plan.devices` and the `devices` of
  `build_plan` and `build_arm_plan` are serials; `RunSettings.devices` and meta.json
  `settings.devices` a device selection; `RunMeta.devices` maps serials to `DeviceInfo`.
- "source" for three things: `device.sources` starts a device (`sim`);
  `compare.source.Source` is one side of a comparison; `ConvertedModel.source` is where a
  model came from.

This module imports nothing from the harness, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# `fallback`: the compute unit asked for did not run the graph (its delegate was not
# applied, or took no node) and the CPU did: a figure, but not of what was asked.
TrialStatus = Literal["ok", "failed", "crashed", "timeout", "parse_error", "skipped", "fallback"]
TRIAL_STATUSES: tuple[TrialStatus, ...] = (
    "ok",
    "failed",
    "crashed",
    "timeout",
    "parse_error",
    "skipped",
    "fallback",
)
# Statuses that are failures of the configuration (skipped trials never ran).
FAILED_STATUSES: tuple[TrialStatus, ...] = (
    "failed",
    "crashed",
    "timeout",
    "parse_error",
    "fallback",
)

# A run is `running` while it measures, then `complete` (every planned trial
# stored), `incomplete` (finished with planned trials missing) or `interrupted`
# (a device was lost or the user stopped it). A run whose trials all failed is
# still `complete`: the failures are records. "failed" was documented but never
# written, so it is not a run status.
RunStatus = Literal["running", "complete", "incomplete", "interrupted"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "complete", "incomplete", "interrupted")

BinaryKind = Literal["official", "stand-in", "unknown"]
BINARY_KINDS: tuple[BinaryKind, ...] = ("official", "stand-in", "unknown")

# Where a trial's energy was read: the phone's power rails (On-Device Power
# Monitors) or its battery fuel gauge. The two are not comparable: the rails
# measure what they cover, the gauge the whole phone (docs/energy-sources.md).
EnergySource = Literal["odpm", "fuel_gauge"]
ENERGY_SOURCES: tuple[EnergySource, ...] = ("odpm", "fuel_gauge")

# Why sequential trials of a configuration stopped (harness.compare.sequential):
# `confident` (its median pinned down), `decided` (an A/B verdict), out of phone
# time (`budget`) or trials (`max_trials`) first, or `failed` (no trial of it
# worked: more would not pin anything down).
StopReason = Literal["confident", "decided", "budget", "max_trials", "failed"]
STOP_REASONS: tuple[StopReason, ...] = ("confident", "decided", "budget", "max_trials", "failed")
# The most trials (or A/B pairs) sequential trials give one configuration by default.
SEQUENTIAL_MAX_TRIALS = 80

# The first line the simulated device's benchmark_model prints; how a stored
# result knows it was not measured by the official tool.
STAND_IN_MARK = "harness benchmark_model stand-in"

# What the stand-in adds to its first line in deterministic mode (lower-cased for
# matching): those latencies were drawn, not measured, and are never compared with
# measured ones.
SYNTHETIC_MARK = "synthetic latencies"

# Android properties set to "1" on a device whose numbers are not a phone's: an
# emulator (qemu) or the harness's simulated phone.
SIMULATED_PROPS: tuple[str, ...] = ("ro.kernel.qemu", "ro.boot.qemu", "ro.harness.simulated")


def is_simulated(props: Mapping[str, object], emulated: bool = False) -> bool:
    """Whether a device was an emulator or the simulated phone: the one decision, read from
    its properties and, as stored in meta.json, its `emulated` flag."""
    return emulated or any(str(props.get(k)) == "1" for k in SIMULATED_PROPS)


# What a configuration is, within one device: trials of one key are comparable.
CONFIG_FIELDS: tuple[str, ...] = ("variant", "quant", "threads", "cores", "xnnpack", "accelerator")
# (variant, quant, threads, cores, xnnpack, compute unit)
ConfigId = tuple[str, str, int, str, str, str]


# The compute unit of every configuration measured before units were an axis.
DEFAULT_ACCELERATOR = "cpu"

# The `family` a trial record gives a model of the user's own (`harness run --model`):
# not a catalogue variant, so no published figure and no depth multiplier.
OWN_FAMILY = "own"


def config_key(
    variant: str,
    quant: str,
    threads: int,
    cores: str,
    xnnpack: str,
    accelerator: str = DEFAULT_ACCELERATOR,
) -> str:
    """The configuration a trial measures, as stored in the `config` column.

    The CPU's key has no unit in it, so the keys (and trial ids) of runs stored
    before units were an axis stay what they were.
    """
    key = f"{variant}|{quant}|t{threads}|{cores}|xnnpack={xnnpack}"
    return key if accelerator == DEFAULT_ACCELERATOR else f"{key}|unit={accelerator}"


@dataclass(frozen=True)
class Config:
    """One measured configuration, independent of the device."""

    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    accelerator: str = DEFAULT_ACCELERATOR  # the compute unit (harness.logs.accelerator)

    @property
    def key(self) -> str:
        """The stored configuration key (see `config_key`)."""
        return config_key(
            self.variant, self.quant, self.threads, self.cores, self.xnnpack, self.accelerator
        )

    @property
    def config_id(self) -> ConfigId:
        """The configuration as a tuple (sorts and pairs without the device)."""
        return (self.variant, self.quant, self.threads, self.cores, self.xnnpack, self.accelerator)


@dataclass(frozen=True)
class DeviceConfig:
    """A configuration on one device model: the leading fields of compare's records."""

    device_model: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    # Keyword-only, so records built from a 5-field prefix stay as they were.
    accelerator: str = field(default=DEFAULT_ACCELERATOR, kw_only=True)

    @property
    def configuration(self) -> Config:
        """The configuration without the device (devices are paired separately)."""
        return Config(
            self.variant, self.quant, self.threads, self.cores, self.xnnpack, self.accelerator
        )

    @property
    def config(self) -> str:
        """The configuration key shared with results (`config_key`)."""
        return self.configuration.key

    @property
    def config_id(self) -> ConfigId:
        """The configuration as a tuple, for pairing across runs."""
        return self.configuration.config_id


# Proof flags a trial may carry (harness/bench/proof.py writes them; docs/run.md
# "Proof in every record"): the clocks dropped, the phone got hot, something else
# ran on the pinned cores, or the log contradicts the settings.
FLAG_FIELDS: tuple[str, ...] = ("throttled", "hot", "interfered", "log_mismatch")
