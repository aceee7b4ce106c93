"""What a trial runs on and with: the model files, the prepared device, the per-trial knobs.

Preparation (`harness.bench.prepare`) fills these once per device; the trial
runner (`harness.bench.trial`) and the record it builds (`harness.bench.record`)
read them for every trial.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.bench.remote import TrialRemote
    from harness.device.energy import EnergyRequest
    from harness.device.session import DeviceSession
    from harness.identity import BinaryInfo


@dataclass(frozen=True)
class ModelFile:
    """A converted model on the host, as the run pushes it."""

    variant: str
    quant: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class PushedModel:
    """A model file pushed to the phone (a pushed model): where it is there, and its hash."""

    path: str
    sha256: str


@dataclass(frozen=True)
class TrialSettings:
    """The per-trial knobs of a run."""

    runs: int
    warmup: int
    cooldown_temp_c: float | None = None
    cooldown_timeout_s: float = 120.0
    timeout_s: float = 600.0
    beat_s: float = 2.0  # how often a device call that waits for a trial says it is alive
    energy: EnergyRequest | None = None  # read energy in each trial (bench/energy.py); off: None
    allow_fallback: bool = False  # a delegate that fell back: `ok` with a warning, not `fallback`


@dataclass
class DeviceTarget:
    """Everything a worker prepared once for its device and reuses for every trial."""

    session: DeviceSession
    remote: TrialRemote
    device_model: str  # the phone's model name, ro.product.model, for the record
    binary: BinaryInfo
    masks: dict[str, str]  # cores policy -> hex mask
    cpus: dict[str, list[int]]  # cores policy -> cpu numbers (for snapshots)
    models: dict[tuple[str, str], PushedModel]  # (variant, quant) -> file on the device
    cluster_max_khz: dict[int, int] = field(default_factory=dict)  # cpu -> cpuinfo max
    logs_dir: Path | None = None  # host folder for raw outputs (RUN_DIR/logs)
    # A/B runs: arm label -> (its binary, its models on the device); harness.bench.arms.
    arms: dict[str, tuple[BinaryInfo, dict[tuple[str, str], PushedModel]]] = field(
        default_factory=dict
    )

    def for_arm(self, arm: str | None) -> DeviceTarget:
        """The target as one arm's trials see it (its binary and models); itself without arms."""
        if arm is None:
            return self
        binary, models = self.arms[arm]
        return dataclasses.replace(self, binary=binary, models=models)
