"""Who measured: a phone (its identity, CPU clusters, thermal zones) and its benchmark binary.

The device layer fills these records (`harness.device.info.read_info`,
`harness.device.binary.prepare_binary`), every run stores them in meta.json,
and `check`, `report`, `trend` and `--resume` read them back. They live here,
not in `harness.device`, so that reading a run folder loads no part of the
device stack: this module imports nothing of the harness but `stored` and
`vocab`, and every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.stored import OPTIONAL, Stored
from harness.vocab import BinaryKind


@dataclass(frozen=True)
class Cluster(Stored):
    """CPUs sharing one cpufreq policy."""

    id: int
    cpus: tuple[int, ...]
    max_khz: int | None
    governor: str | None
    online: tuple[int, ...]


@dataclass(frozen=True)
class ThermalZone(Stored):
    """One thermal zone as the device reported it."""

    zone: str | None
    type: str | None
    temp_c: float | None


@dataclass(frozen=True)
class DeviceInfo(Stored):
    """Everything `harness devices` shows and every run stores per device (meta.json `devices`)."""

    serial: str
    state: str
    model: str | None = None
    device: str | None = None
    product: str | None = None
    manufacturer: str | None = None
    platform: str | None = None
    hardware: str | None = None
    android_release: str | None = None
    sdk: int | None = None
    fingerprint: str | None = None
    abi: str | None = None
    abilist: tuple[str, ...] = ()
    kernel: str | None = None
    clusters: tuple[Cluster, ...] = ()
    masks: Mapping[str, str] = field(default_factory=dict)
    thermal_zones: tuple[ThermalZone, ...] = ()
    battery_level: int | None = None
    battery_temp_c: float | None = None
    screen_on: bool | None = None
    emulated: bool = False
    features: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # Android properties beyond the ones named above, where a stored record has them.
    props: Mapping[str, str | None] = field(default_factory=dict, metadata=OPTIONAL)


@dataclass(frozen=True, kw_only=True)
class BinaryInfo(Stored):
    """The benchmark binary a device will run, as the device sees it (meta.json `binaries`)."""

    kind: BinaryKind = "unknown"  # also what a record stored without a kind says
    sha256: str
    device_path: str
    version_line: str | None
    flags: frozenset[str]  # the flags its --help lists, without dashes (stored sorted)
    source: str  # "pushed:<host path>" or "installed"
