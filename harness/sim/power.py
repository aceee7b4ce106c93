"""The simulated phone's power model: what its energy counters and fuel gauge read.

Energy is charged for the CPU time of the device's benchmark_model processes
and for a constant idle draw; nothing else on the device costs anything. The
stand-in appends its own CPU time to the ledger `state/cpu.log` after every
run (`pid start cpu_ns phase host_cpus`); a read of a power file settles the
ledger at that moment: each new slice of CPU time is split evenly over the
device CPUs the process may run on (its taskset mask, `affinity.jsonl`) and
charged at each CPU's cluster power at the cluster's current clock
(`core_mw x (f / f_max)^3` per busy core). No thread polls: a counter is only
ever computed when something reads it, and a clock change settles first.

Units follow the phone's: energy in microwatt-seconds (mW x ms = uWs exactly),
time in ms of CLOCK_BOOTTIME, charge in uAh, current in uA (positive into the
battery, as Android's BatteryManager documents), voltage in uV. The numbers
are invented (docs/sim.md "Power model"); the truth of every charge is kept
for tests (`PowerModel.processes()`).
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.sim.topology import Topology

LEDGER = "cpu.log"
PHASES = ("start", "init", "warmup", "timed", "end")
# A fuel gauge reports current averaged over a short window.
GAUGE_WINDOW_MS = 1000
# The ODPM driver re-reads the PMIC at most every 50 ms and answers from its
# cache in between (odpm.c ODPM_MIN_POLLING_TIME_MS).
ODPM_MIN_POLL_MS = 50
_HISTORY_MS = 10 * GAUGE_WINDOW_MS


@dataclass(frozen=True)
class Rail:
    """One ODPM channel: `CH<channel>[<name>]:<subsystem>` of meter `iio:device<meter>`."""

    meter: int
    channel: int
    name: str
    subsystem: str
    idle_mw: int
    cluster: int | None = None  # policy cpu of the cluster whose CPU power it carries


@dataclass(frozen=True)
class Gauge:
    """The battery fuel gauge: what the battery holds and what the phone draws beside its CPUs."""

    full_uah: int
    voltage_uv: int
    charge_ua: int  # into the battery while USB powers the phone (covers the load too)
    base_mw: int  # draw outside the metered rails (display, radios, the rest)


@dataclass(frozen=True)
class PowerSpec:
    """A profile's power numbers: busy-core power per cluster, ODPM rails, fuel gauge."""

    core_mw: dict[int, int]  # policy cpu -> one busy core's power at cpuinfo_max_freq
    gauge: Gauge
    meters: tuple[str, ...] = ()  # ODPM device names, by iio:device index
    rails: tuple[Rail, ...] = ()
    sampling_rate: str = "1000.000000"

    def idle_mw(self) -> int:
        """The whole phone's draw with no benchmark running."""
        return self.gauge.base_mw + sum(r.idle_mw for r in self.rails)


@dataclass(frozen=True)
class Tick:
    """One ledger line: a process's CPU time so far, at the end of a phase step."""

    pid: int
    start: int
    cpu_ns: int
    phase: str
    host_cpus: frozenset[int]


def parse_tick(line: str) -> Tick | None:
    """`pid start cpu_ns phase host_cpus` -> Tick; anything else -> None."""
    parts = line.split()
    if len(parts) != 5 or parts[3] not in PHASES:
        return None
    try:
        pid, start, cpu_ns = int(parts[0]), int(parts[1]), int(parts[2])
        cpus = frozenset(int(c) for c in parts[4].split(",") if c)
    except ValueError:
        return None
    return Tick(pid, start, cpu_ns, parts[3], cpus)


@dataclass
class ProcessEnergy:
    """What the model charged one benchmark_model process: the truth tests check against."""

    pid: int
    start: int
    device_cpus: tuple[int, ...] = ()
    cpu_ns: int = 0
    cpu_ns_by_phase: dict[str, int] = field(default_factory=dict)
    uws_by_phase: dict[str, float] = field(default_factory=dict)
    uws_by_cluster: dict[int, float] = field(default_factory=dict)
    host_cpus: frozenset[int] = frozenset()

    @property
    def uws(self) -> float:
        return sum(self.uws_by_phase.values())


def boottime_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def core_mw(spec: PowerSpec, topology: Topology, policy: int, khz: int) -> float:
    """One busy core's power in cluster `policy` at `khz`: core_mw x (f / f_max)^3."""
    cluster = topology.cluster_of(policy)
    return spec.core_mw[cluster.policy] * (min(khz, cluster.max_khz) / cluster.max_khz) ** 3


class PowerModel:
    """The device's energy accounting; every public method settles the ledger first."""

    def __init__(
        self,
        root: Path,
        topology: Topology,
        spec: PowerSpec,
        *,
        clock_ns: Callable[[], int] = boottime_ns,
        level: int = 85,
    ) -> None:
        self.root = root
        self.topology = topology
        self.spec = spec
        self._clock_ns = clock_ns
        self._lock = threading.RLock()
        self._offset = 0
        self._partial = b""
        self._procs: dict[tuple[int, int], ProcessEnergy] = {}
        self._cluster_uws: dict[int, float] = {c.policy: 0.0 for c in topology.clusters}
        self._policy = {cpu: topology.cluster_of(cpu).policy for cpu in topology.cpus}
        now_ms = clock_ns() // 1_000_000
        self._history: list[tuple[int, float]] = [(now_ms, 0.0)]
        self._snapshots: dict[int, tuple[int, str]] = {}
        self.plugged = True
        self.level = level  # what the gauge reports as capacity (%), set by the battery fault
        self.temp_tenths = 281
        # The battery's charge at the start of the current plug segment, and where it began.
        self._segment = (now_ms, spec.gauge.full_uah * level / 100.0, 0.0)

    # -- the ledger -----------------------------------------------------------------
    def settle(self) -> int:
        """Charge every CPU-time slice appended since the last settle; return now in ms."""
        with self._lock:
            now_ms = self._clock_ns() // 1_000_000
            ticks = self._new_ticks()
            # One clock per cluster for the whole settle (a clock change settles
            # first): a file read per tick made a read of a long trial's counters
            # take half a second, where a phone answers at once.
            mw = {
                c.policy: core_mw(self.spec, self.topology, c.policy, self._khz(c.policy))
                for c in self.topology.clusters
            } if ticks else {}  # fmt: skip
            for tick in ticks:
                self._charge(tick, mw)
            total = self.cpu_uws()
            if total != self._history[-1][1]:
                self._history.append((now_ms, total))
                while len(self._history) > 2 and self._history[1][0] < now_ms - _HISTORY_MS:
                    self._history.pop(0)
            return now_ms

    def _new_ticks(self) -> list[Tick]:
        try:
            with open(self.root / "state" / LEDGER, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for its end
        ticks = [parse_tick(line.decode("ascii", "replace")) for line in lines]
        return [t for t in ticks if t is not None]

    def _charge(self, tick: Tick, mw: dict[int, float]) -> None:
        """Charge one slice at `mw`, each cluster's busy-core power at its clock now."""
        key = (tick.pid, tick.start)
        proc = self._procs.get(key)
        if proc is None:
            proc = self._procs[key] = ProcessEnergy(tick.pid, tick.start)
        if tick.host_cpus != proc.host_cpus or not proc.device_cpus:
            proc.host_cpus = tick.host_cpus
            proc.device_cpus = self._device_cpus(tick.pid, tick.host_cpus)
        delta = tick.cpu_ns - proc.cpu_ns
        if delta <= 0 or not proc.device_cpus:
            return
        proc.cpu_ns = tick.cpu_ns
        proc.cpu_ns_by_phase[tick.phase] = proc.cpu_ns_by_phase.get(tick.phase, 0) + delta
        share_s = delta / 1e9 / len(proc.device_cpus)
        for cpu in proc.device_cpus:
            policy = self._policy[cpu]
            uws = share_s * mw[policy] * 1000
            self._cluster_uws[policy] += uws
            proc.uws_by_cluster[policy] = proc.uws_by_cluster.get(policy, 0.0) + uws
            proc.uws_by_phase[tick.phase] = proc.uws_by_phase.get(tick.phase, 0.0) + uws

    def _device_cpus(self, pid: int, host_cpus: frozenset[int]) -> tuple[int, ...]:
        """The device CPUs a process runs on: the mask taskset gave it, if it still holds.

        Several device CPUs share a host CPU, so the host affinity alone cannot
        tell mask 0x40 from 0xc0; taskset's record can (as taskset -p answers).
        """
        offline = {cpu for c in self.topology.clusters for cpu in c.offline}
        online = [d for d in self.topology.cpus if d not in offline]
        found: tuple[int, ...] | None = None
        try:
            with open(self.root / "state" / "affinity.jsonl") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("pid") == pid:
                        same = frozenset(rec.get("host_cpus", ())) == host_cpus
                        cpus = rec.get("device_cpus", ()) if same else ()
                        found = tuple(c for c in cpus if c in online) or None
        except OSError:
            pass
        if found:
            return found
        return tuple(d for d in online if self.topology.host_map.get(d) in host_cpus)

    def _khz(self, policy: int) -> int:
        """A cluster's clock now: its scaling_cur_freq (a thermal cap lowers it)."""
        cluster = self.topology.cluster_of(policy)
        path = self.root / "sysfs" / "cpu" / "cpufreq" / f"policy{policy}" / "scaling_cur_freq"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return cluster.max_khz

    # -- counters ---------------------------------------------------------------------
    def cpu_uws(self) -> float:
        """CPU energy charged so far, all clusters (without settling)."""
        with self._lock:
            return sum(self._cluster_uws.values())

    def rail_uws(self, rail: Rail, now_ms: int) -> float:
        """A rail's counter: its idle draw since boot plus its cluster's CPU energy."""
        cpu = self._cluster_uws.get(rail.cluster, 0.0) if rail.cluster is not None else 0.0
        return rail.idle_mw * now_ms + cpu

    def energy_value(self, meter: int) -> str:
        """The odpm driver's energy_value text for iio:device<meter> (cached for 50 ms)."""
        with self._lock:
            now_ms = self._clock_ns() // 1_000_000
            cached = self._snapshots.get(meter)
            if cached is not None and now_ms - cached[0] < ODPM_MIN_POLL_MS:
                return cached[1]
            now_ms = self.settle()
            lines = [f"t={now_ms}"]
            for rail in self.spec.rails:
                if rail.meter == meter:
                    value = int(self.rail_uws(rail, now_ms))
                    lines.append(f"CH{rail.channel}(T={now_ms})[{rail.name}], {value}")
            text = "\n".join(lines) + "\n"
            self._snapshots[meter] = (now_ms, text)
            return text

    def battery_uws(self, now_ms: int) -> float:
        """Energy the phone has drawn since boot: idle draw plus CPU energy."""
        return self.spec.idle_mw() * now_ms + self.cpu_uws()

    def charge_uah(self) -> float:
        """The battery's charge now: rising at the charge current on USB power, else draining."""
        with self._lock:
            now_ms = self.settle()
            return self._charge_at(now_ms)

    def _charge_at(self, now_ms: int) -> float:
        start_ms, start_uah, start_uws = self._segment
        gauge = self.spec.gauge
        if self.plugged:
            return start_uah + gauge.charge_ua * (now_ms - start_ms) / 3.6e6
        drawn = self.battery_uws(now_ms) - start_uws
        return start_uah - drawn / gauge.voltage_uv / 3.6e-3

    def current_ua(self) -> float:
        """current_now: +charge current on USB power, else -(average draw / voltage) over 1 s."""
        with self._lock:
            now_ms = self.settle()
            gauge = self.spec.gauge
            if self.plugged:
                return float(gauge.charge_ua)
            since = now_ms - GAUGE_WINDOW_MS
            before = self._history[0][1]
            for t, uws in self._history:
                if t <= since:
                    before = uws
            cpu_mw = (self.cpu_uws() - before) / GAUGE_WINDOW_MS
            return -(self.spec.idle_mw() + cpu_mw) * 1000 / (gauge.voltage_uv / 1e6)

    def set_plugged(self, plugged: bool) -> None:
        """USB power on or off; the gauge's charge carries over."""
        with self._lock:
            now_ms = self.settle()
            charge = self._charge_at(now_ms)
            self.plugged = plugged
            self._segment = (now_ms, charge, self.battery_uws(now_ms))

    # -- truth for tests --------------------------------------------------------------
    def processes(self) -> list[ProcessEnergy]:
        """Every benchmark_model process charged so far, oldest first (copies)."""
        with self._lock:
            self.settle()
            return [copy.deepcopy(p) for p in self._procs.values()]

    def rail_energy_uws(self) -> dict[str, float]:
        """Each rail's counter now, unrounded and uncached."""
        with self._lock:
            now_ms = self.settle()
            return {rail.name: self.rail_uws(rail, now_ms) for rail in self.spec.rails}


def ledger_path(root: Path) -> Path:
    return root / "state" / LEDGER


def create_ledger(root: Path) -> None:
    """An empty ledger every device process may append to."""
    path = ledger_path(root)
    path.touch()
    os.chmod(path, 0o666)
