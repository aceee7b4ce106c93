"""The words the harness stores and compares, spelled once.

Trial and run statuses, binary kinds, the stand-in's mark and the
configuration a trial measures were spelled out by hand in the parser, the
store, the schema, `compare` and `report`; a new status or a sixth
configuration field is now one edit here. This module imports nothing from
the harness, so every layer may use it.
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
