"""The harness's vocabulary, and the words it stores and compares, spelled once.

Docs, messages and new code use these words; the code's names for each are in parentheses.

- variant: one catalogue entry, a family at a depth multiplier and an input resolution
  (`catalogue.Variant`; its id, e.g. `mobilenet_v2_1.0_224`).
- quant: how a variant is converted: `fp32`, `int8`, `dynamic`, `fp16` (`convert.QUANTS`),
  or `file` for a model imported as it is.
- model: a variant converted at a quant, one `.tflite`. On the host a model file
  (`bench.target.ModelFile`, made by `convert.ConvertedModel`); on a phone a pushed model.
- configuration: what a trial measures, whatever the device: variant, quant, threads,
  cores, xnnpack, compute unit (`Config`; the field names are `CONFIG_FIELDS`). In code,
  `config` and `configs` name `Config`s, and a `Config` keys a dict of configurations.
  On one device model it is a `DeviceConfig` (`device_model` and `config`), the head of
  compare's records (`ComparisonRow`, `ConfigSamples`, trend's `Series` and `Step`).
- configuration key: a configuration as one string, `variant|quant|tN|cores|xnnpack=X`
  (`.key`: `Config.key`, `DeviceConfig.key`, `TrialRecord.key`). Stored files name its
  column and field `config` (trials, summaries, op profiles, `check --json`), and so do
  the report's rows read from them; stored names stay as they are.
- device: a phone, or the simulated one, named by its serial (`serial`; `device_serial` in
  records), reached through one session (`device.session.DeviceSession`) and described by
  `identity.DeviceInfo`. A device selection is what `--device` names (serials, names,
  aliases, `all`, `pool:`, `sim`).
- device model: a device's model name, `ro.product.model` (`DeviceInfo.model`;
  `device_model` in records, summaries, comparison rows and `DeviceTarget`). `check`,
  `trend` and the report pair devices by it.
- pushed model: a model file on a phone, under the harness's working folder there
  (`bench.target.PushedModel`; `DeviceTarget.models` and `.arms` hold them).
- binary: the benchmark_model a trial runs (`identity.BinaryInfo`; kinds `BINARY_KINDS`).
- trial: one benchmark_model process on one device, measuring one configuration with its
  warm-up runs and then its timed runs (benchmark_model's own "runs": `--warmup`, `--runs`).
  Its record is a `results.schema.TrialRecord`, its id `trial_id`:
  `serial|configuration key|index` (`serial|configuration key|ARM:index` in an A/B run).
- arm: in an A/B run, a label with its own binary and models (`ArmSpec`, `ArmRecord`,
  `TrialRecord.arm`); never part of the configuration key.
- plan: every trial of a run, per device, in the seeded order (`bench.plan.Plan` of
  `TrialSpec`s, each on a device's `serial`; `Plan.serials`); stored as meta.json `order`.
- run: one `harness run` (or its `--resume`) from options to outcome, the act
  (`harness.run.run`, `RunSettings`, `RunOutcome`; named by its `run_id`).
- run folder: what a run leaves, `OUT/<run_id>/` (`run_dir`; written by
  `results.store.RunStore`, its meta.json read as `results.meta.RunMeta`).
- stage: one of a run's five steps, in order devices, plan, prepare, measure, finish: one
  module each in `harness.stages` (`settings`, `resume` and `label` there are helpers).
  The measure stage's loop is `bench.workers.measure_plan` (one worker per phone), each
  trial measured by `bench.trial.TrialRunner.measure`.
- baseline: a run folder reduced to a JSON file by `harness baseline save`; one side of
  `harness check`.

Names that look like old ones but are kept, and why:

- `harness.config` (`HarnessConfig`, `load_config`, the `config=` of `device.select` and
  `device.lab`) is the project settings file (`harness.toml`), not a configuration. Left
  until the device resolvers are one (their callers change then, in one go).
- "run" where it means a run folder: `report.runs.DeviceRun` (one device of one run
  folder), `compare.source.read_run` and `results.load.run_dirs` read run folders.
- "devices" where they are devices: `RunSettings.devices` and meta.json
  `settings.devices` are a device selection (public and stored); `RunMeta.devices` maps
  serials to `DeviceInfo` (stored as meta.json `devices`).
- "source" for where something came from: `device.sources` starts a device (`sim`);
  `compare.source.Source` is one side of a comparison; `ConvertedModel.source` is where a
  model came from, stored so in the model cache and printed by `convert --json`.

This module imports nothing from the harness, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


# The compute unit of every configuration measured before units were an axis.
DEFAULT_ACCELERATOR = "cpu"

# The `family` a trial record gives a model of the user's own (`harness run --model`):
# not a catalogue variant, so no published figure and no depth multiplier.
OWN_FAMILY = "own"


@dataclass(frozen=True, order=True)
class Config:
    """One measured configuration, independent of the device: hashable, so it keys dicts,
    and ordered by its fields (variant first) for a stable order."""

    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    accelerator: str = DEFAULT_ACCELERATOR  # the compute unit (harness.logs.accelerator)

    @property
    def key(self) -> str:
        """The configuration as stored in the `config` column, `variant|quant|tN|cores|xnnpack=X`.

        The CPU's key has no unit in it, so the keys (and trial ids) of runs stored
        before units were an axis stay what they were.
        """
        key = f"{self.variant}|{self.quant}|t{self.threads}|{self.cores}|xnnpack={self.xnnpack}"
        return key if self.accelerator == DEFAULT_ACCELERATOR else f"{key}|unit={self.accelerator}"

    def fields(self) -> dict[str, str | int]:
        """The six fields by name, in `CONFIG_FIELDS` order (as records store them, flat)."""
        return {name: getattr(self, name) for name in CONFIG_FIELDS}


@dataclass(frozen=True)
class DeviceConfig:
    """A configuration on one device model: the leading fields of compare's records."""

    device_model: str
    config: Config

    @property
    def key(self) -> str:
        """The configuration key (`Config.key`); the device model is paired separately."""
        return self.config.key

    def fields(self) -> dict[str, str | int]:
        """`device_model` and the configuration's fields, flat, as stored and printed."""
        return {"device_model": self.device_model, **self.config.fields()}


# Proof flags a trial may carry (harness/bench/proof.py writes them; docs/run.md
# "Proof in every record"): the clocks dropped, the phone got hot, something else
# ran on the pinned cores, or the log contradicts the settings.
FLAG_FIELDS: tuple[str, ...] = ("throttled", "hot", "interfered", "log_mismatch")
