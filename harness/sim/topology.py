"""CPU topology of a simulated device and its mapping onto the host's CPUs.

JSON format (`--topology FILE`):
`{"clusters": [{"cpus": [0, 1], "max_khz": 1593600}, {"cpus": [2, 3], "max_khz": 2150400}]}`
with optional per-cluster fields `min_khz`, `scaling_max_khz` (a throttled cap),
`governor`, `offline` (list of cpus of that cluster that are offline) and
`host_cpus` (explicit host CPUs for that cluster). Two optional top-level keys
describe a stripped-down device: `"cpufreq": false` (CPUs present and online,
but no cpufreq folders, as on boards whose kernel has no cpufreq driver) and
`"thermal_zones": [{"type": "cpu0", "temp_c": 41.5}, ...]` (the zones under
/sys/class/thermal; `[]` for none; absent: the Pixel 1's zones) and
`"battery": false` (no fuel gauge and no power meters, as on a board powered
from a wall supply).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import SimulatorError

# Pixel 1 (sailfish, MSM8996): silver cores 0-1 up to 1593600 kHz, gold cores 2-3 up to
# 2150400 kHz (AOSP frameworks/base libs/hwui/tests/scripts/prep_marlfish.sh).
PIXEL1: dict[str, Any] = {
    "clusters": [
        {"cpus": [0, 1], "max_khz": 1593600, "min_khz": 307200},
        {"cpus": [2, 3], "max_khz": 2150400, "min_khz": 307200},
    ]
}


@dataclass(frozen=True)
class Cluster:
    """One cpufreq policy: CPUs that share a clock."""

    cpus: tuple[int, ...]
    max_khz: int
    min_khz: int = 300000
    scaling_max_khz: int | None = None
    governor: str = "schedutil"
    offline: tuple[int, ...] = ()
    host_cpus: tuple[int, ...] | None = None

    @property
    def policy(self) -> int:
        return self.cpus[0]


@dataclass(frozen=True)
class Topology:
    """All clusters plus the device-CPU -> host-CPU map."""

    clusters: tuple[Cluster, ...]
    host_map: dict[int, int] = field(default_factory=dict)
    cpufreq: bool = True  # False: no cpufreq folders at all
    # (type, degrees C) of each thermal zone; None: the image's default (Pixel 1) zones.
    thermal_zones: tuple[tuple[str, float], ...] | None = None
    battery: bool = True  # False: no fuel gauge, no power meters (a board on a wall supply)

    @property
    def cpus(self) -> list[int]:
        return sorted(cpu for c in self.clusters for cpu in c.cpus)

    def cluster_of(self, cpu: int) -> Cluster:
        for cluster in self.clusters:
            if cpu in cluster.cpus:
                return cluster
        raise SimulatorError(f"device has no cpu{cpu}")

    def host_cpus(self, device_cpus: list[int]) -> list[int]:
        """Host CPUs that the given device CPUs run on."""
        return sorted({self.host_map[c] for c in device_cpus if c in self.host_map})

    def to_json(self) -> dict[str, Any]:
        return {
            "clusters": [
                {
                    "cpus": list(c.cpus),
                    "max_khz": c.max_khz,
                    "min_khz": c.min_khz,
                    "scaling_max_khz": c.scaling_max_khz,
                    "governor": c.governor,
                    "offline": list(c.offline),
                }
                for c in self.clusters
            ],
            "host_map": {str(k): v for k, v in sorted(self.host_map.items())},
            "cpufreq": self.cpufreq,
            "thermal_zones": None
            if self.thermal_zones is None
            else [{"type": kind, "temp_c": temp} for kind, temp in self.thermal_zones],
            "battery": self.battery,
        }


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise SimulatorError(f"topology: {what} must be a list of non-negative integers")
    return tuple(value)


def parse(data: Any, *, host_cpus: list[int] | None = None) -> Topology:
    """Validate a topology description and map its CPUs onto host CPUs."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("clusters"), list)
        or not data["clusters"]
    ):
        raise SimulatorError(
            'topology: expected {"clusters": [{"cpus": [...], "max_khz": N}, ...]}'
        )
    clusters: list[Cluster] = []
    seen: set[int] = set()
    for i, raw in enumerate(data["clusters"]):
        if not isinstance(raw, dict):
            raise SimulatorError(f"topology: cluster {i} is not an object")
        unknown = set(raw) - {
            "cpus",
            "max_khz",
            "min_khz",
            "scaling_max_khz",
            "governor",
            "offline",
            "host_cpus",
        }
        if unknown:
            raise SimulatorError(f"topology: cluster {i} has unknown fields {sorted(unknown)}")
        cpus = _ints(raw.get("cpus"), f"cluster {i} cpus")
        if not cpus or seen & set(cpus):
            raise SimulatorError(f"topology: cluster {i} cpus are empty or repeated")
        seen |= set(cpus)
        max_khz = raw.get("max_khz")
        if not isinstance(max_khz, int) or max_khz <= 0:
            raise SimulatorError(f"topology: cluster {i} needs a positive integer max_khz")
        min_khz = raw.get("min_khz", min(300000, max_khz))
        cap = raw.get("scaling_max_khz")
        if not isinstance(min_khz, int) or (cap is not None and not isinstance(cap, int)):
            raise SimulatorError(
                f"topology: cluster {i} min_khz / scaling_max_khz must be integers"
            )
        offline = _ints(raw.get("offline", []), f"cluster {i} offline")
        if not set(offline) <= set(cpus):
            raise SimulatorError(f"topology: cluster {i} offline cpus are not in the cluster")
        host = raw.get("host_cpus")
        clusters.append(
            Cluster(
                cpus=cpus,
                max_khz=max_khz,
                min_khz=min_khz,
                scaling_max_khz=cap,
                governor=str(raw.get("governor", "schedutil")),
                offline=offline,
                host_cpus=_ints(host, f"cluster {i} host_cpus") if host is not None else None,
            )
        )
    if 0 not in seen:
        raise SimulatorError("topology: a device always has cpu0")
    available = sorted(host_cpus if host_cpus is not None else os.sched_getaffinity(0))
    cpufreq = data.get("cpufreq", True)
    if not isinstance(cpufreq, bool):
        raise SimulatorError("topology: cpufreq must be true or false")
    battery = data.get("battery", True)
    if not isinstance(battery, bool):
        raise SimulatorError("topology: battery must be true or false")
    return Topology(
        tuple(clusters),
        _host_map(clusters, available),
        cpufreq=cpufreq,
        thermal_zones=_zones(data.get("thermal_zones")),
        battery=battery,
    )


def _zones(raw: Any) -> tuple[tuple[str, float], ...] | None:
    """The `thermal_zones` list as (type, degrees C) pairs; None when not given."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise SimulatorError('topology: thermal_zones must be a list of {"type", "temp_c"}')
    zones: list[tuple[str, float]] = []
    for i, zone in enumerate(raw):
        kind = zone.get("type") if isinstance(zone, dict) else None
        temp = zone.get("temp_c") if isinstance(zone, dict) else None
        if (
            not isinstance(kind, str)
            or not kind.strip()
            or isinstance(temp, bool)
            or not isinstance(temp, int | float)
            or set(zone) - {"type", "temp_c"}
        ):
            raise SimulatorError(
                f'topology: thermal zone {i} needs {{"type": NAME, "temp_c": DEGREES}}'
            )
        zones.append((kind, float(temp)))
    return tuple(zones)


def _host_map(clusters: list[Cluster], available: list[int]) -> dict[int, int]:
    """Spread device CPUs evenly over the host's: on 2 host CPUs, cpu0-1 -> 0, cpu2-3 -> 1."""
    device = sorted(cpu for c in clusters for cpu in c.cpus)
    mapping = {cpu: available[i * len(available) // len(device)] for i, cpu in enumerate(device)}
    for cluster in clusters:
        if cluster.host_cpus is not None:
            missing = set(cluster.host_cpus) - set(available)
            if missing:
                raise SimulatorError(
                    f"topology: host cpus {sorted(missing)} are not available here"
                )
            for j, cpu in enumerate(cluster.cpus):
                mapping[cpu] = cluster.host_cpus[j % len(cluster.host_cpus)]
    return mapping


def load(path: Path | None, *, host_cpus: list[int] | None = None) -> Topology:
    """Read a topology file (None: the Pixel 1)."""
    if path is None:
        return parse(PIXEL1, host_cpus=host_cpus)
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SimulatorError(f"cannot read topology {path}: {exc}") from exc
    return parse(data, host_cpus=host_cpus)
