"""Proof in every record, on the simulated device: affinity read back, heat, clocks, interference.

Each trial's benchmark is held at its end (the device waits for the action keyed
to that event, docs/sim.md "Device events") until the wrapper has taken its
samples, then let go; one trial gets a fault applied as its benchmark starts,
and cleared at its end, before the wrapper's exit look and the after-snapshot.
So what a trial sees is set by events on the device, never by how fast the
host computes, and no neighbour's snapshot sees another trial's fault.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.run import RunSettings, run
from harness.sim.events import DeviceEvent

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
BIG_CPUS = {2, 3}
WAIT_S = 120.0
# A trial's benchmark_model, in the device's events (preparation runs `--help` too).
TRIAL = r"--graph="


def _sessions(serial: str) -> list[Any]:
    from harness.device.select import connect

    return list(connect([serial]))


def _trial_dir(sim: Any, event: DeviceEvent) -> Path:
    """The host folder of the trial whose benchmark this event is (its stdout is there)."""
    assert event.stdout is not None, event
    return (sim.root / event.stdout.lstrip("/")).parent


def _samples(trial_dir: Path) -> int:
    path = trial_dir / "samples"
    text = path.read_text() if path.exists() else ""
    return sum(line.startswith("sample ") and " self=" in line for line in text.splitlines())


def _until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Conductor:
    """Holds each trial's benchmark at its end until it has `needed` samples (counted from
    the fault for trial `target`, 0-based, which gets `fault` at its start, `clear` at its end)."""

    def __init__(
        self,
        sim: Any,
        target: int,
        fault: Callable[[], None],
        clear: Callable[[], None],
        needed: int = 3,
    ) -> None:
        self.sim, self.target, self.needed = sim, target, needed
        self.fault, self.clear = fault, clear
        self.base: dict[Path, int] = {}  # trial folder -> samples before its fault

    def __enter__(self) -> Conductor:
        faults = self.sim.faults
        self.started = faults.on("benchmark_start", self._start, match=TRIAL, every=True)
        self.ended = faults.on("benchmark_end", self._end, match=TRIAL, every=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.started.cancel()
        self.ended.cancel()
        self.clear()

    def _start(self, event: DeviceEvent) -> None:
        trial_dir = _trial_dir(self.sim, event)
        if len(self.started.events) - 1 == self.target:
            self.fault()
            self.base[trial_dir] = _samples(trial_dir)  # samples from here on saw the fault

    def _end(self, event: DeviceEvent) -> None:
        trial_dir = _trial_dir(self.sim, event)
        want = self.base.get(trial_dir, 0) + self.needed
        _until(lambda: _samples(trial_dir) >= want, f"{want} samples in {trial_dir.name}")
        if trial_dir in self.base:
            self.clear()

    @property
    def errors(self) -> list[BaseException]:
        return [*self.started.errors, *self.ended.errors]


def _run(sim: Any, tmp_path: Path, conductor: Conductor, trials: int) -> list[dict[str, Any]]:
    settings = RunSettings(
        devices=[sim.serial], variants=[VARIANT], trials=trials, runs=3, warmup=1,
        out=tmp_path, seed=5, report=False, cooldown_timeout_s=30,
    )  # fmt: skip
    with conductor:
        outcome = run(settings, sessions=_sessions(sim.serial))
    assert conductor.errors == []
    assert len(conductor.ended.events) == trials
    assert outcome.status == "complete", outcome
    path = outcome.run_dir / "trials.jsonl"
    records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    assert len(records) == trials
    return sorted(records, key=lambda r: r["order_index"])


def test_affinity_heat_and_clocks_are_proved_per_trial(sim: Any, tmp_path: Path) -> None:
    big_max = max(c.max_khz for c in sim.topology.clusters if 2 in c.cpus)
    cap = big_max // 2

    def fault() -> None:
        sim.faults.set_thermal(temps_c={"tsens_tz_sensor2": 55.0}, max_khz={2: cap})

    conductor = Conductor(sim, target=1, fault=fault, clear=sim.faults.clear_thermal)
    records = _run(sim, tmp_path, conductor, trials=3)
    for r in records:
        assert r["status"] == "ok", r["error"]
        # Read back from the phone for every trial, and inside the requested mask.
        assert r["affinity_cpus"] is not None
        assert {int(c) for c in r["affinity_cpus"].split(",")} <= BIG_CPUS
        assert int(r["core_mask"], 16) == sum(1 << c for c in BIG_CPUS)
        assert r["proof_samples"] >= 3 and r["interference_pct"] is not None
    hot, others = records[1], [records[0], records[2]]
    assert hot["hot"] is True and hot["temp_max_c"] == 55.0
    assert hot["throttled"] is True and hot["freq_min_khz"] == cap
    assert "hot:" in hot["proof_warnings"] and "throttled:" in hot["proof_warnings"]
    for r in others:
        assert r["hot"] is False and r["temp_max_c"] < 40.0
        assert r["throttled"] is False and r["freq_min_khz"] == big_max
    # The device's taskset saw the same mask for every benchmark process.
    procs = [p for p in sim.affinity_records() if any("benchmark_model" in a for a in p["argv"])]
    assert all(set(p["device_cpus"]) <= BIG_CPUS for p in procs)
    # The sampler of every trial ran pinned to the online CPUs outside the mask.
    samplers = [p for p in sim.affinity_records() if "_sample" in p["argv"]]
    assert len(samplers) == len(records)
    online = set(sim.topology.host_map) - {c for cl in sim.topology.clusters for c in cl.offline}
    assert all(set(p["device_cpus"]) == online - BIG_CPUS for p in samplers)


def test_busy_process_on_a_big_core_shows_as_interfered(sim: Any, tmp_path: Path) -> None:
    session = _sessions(sim.serial)[0]
    pid_file = "/data/local/tmp/busy.pid"

    def fault() -> None:
        # Detached and pinned to big core 3, as a stray app thread would be. The path:
        # toybox's setsid runs a bare `taskset` as its own built-in applet (xexec does
        # not exec a name without a '/'), which on the simulated device would pin in
        # host CPU numbers instead of going through the device's taskset.
        session.shell(
            ["sh", "-c", "setsid /system/bin/taskset 8 sh -c "
             f"'echo $$ >{pid_file}; while :; do :; done' </dev/null >/dev/null 2>&1 &"],
            timeout_s=30,
        )  # fmt: skip
        # Samples count from when it runs (it writes its pid once pinned).
        _until(
            lambda: bool(
                session.shell(["cat", pid_file], timeout_s=30, check=False).stdout.strip()
            ),
            "the busy process",
        )

    def clear() -> None:
        pid = session.shell(["cat", pid_file], timeout_s=30, check=False).stdout.strip()
        if pid:
            session.shell(["kill", "-9", pid], timeout_s=30)
            session.shell(["rm", "-f", pid_file], timeout_s=30)

    records = _run(sim, tmp_path, Conductor(sim, target=1, fault=fault, clear=clear), trials=3)
    target, others = records[1], [records[0], records[2]]
    figures = [(r["interference_pct"], r["proof_samples"], r["interfered"]) for r in records]
    assert target["interfered"] is True, figures
    assert "interfered:" in target["proof_warnings"]
    # Every trial was sampled and got a figure. How the neighbours compare is not
    # asserted: the simulated /proc/stat counts the host's other processes too, so
    # on a loaded host every held trial reads near 100% (seen under two busy loops).
    assert all(r["interference_pct"] is not None and r["proof_samples"] >= 3 for r in others)


@pytest.mark.parametrize("period", ["0.5", "600"], ids=["default-period", "no-sample-between"])
def test_a_trial_too_short_for_samples_carries_its_proof(
    sim: Any, tmp_path: Path, period: str
) -> None:
    """One run, no warm-up: over long before the sampler's first nap ends (with a
    600 s period, whatever the host's speed), yet its record has the affinity read
    back and the interference over its whole length, from the looks at start and exit."""
    sim.set_env("HARNESS_SAMPLE_S", period)  # the proof sampler's period, in the phone's env
    looked: list[Path] = []

    def after_the_start_look(event: DeviceEvent) -> None:
        # The benchmark waits at its end until the start look is on file: its end
        # comes after that look by the order of events, not by the host's speed.
        samples = _trial_dir(sim, event) / "samples"
        _until(
            lambda: samples.exists() and "sample at=start " in samples.read_text(),
            "the start look",
        )
        looked.append(samples)

    held = sim.faults.on("benchmark_end", after_the_start_look, match=TRIAL)
    settings = RunSettings(
        devices=[sim.serial], variants=[VARIANT], trials=1, runs=1, warmup=0,
        out=tmp_path, seed=3, report=False, cooldown_timeout_s=30,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial))
    assert held.errors == []
    assert looked, "no start look was taken"
    [record] = [json.loads(x) for x in (outcome.run_dir / "trials.jsonl").read_text().splitlines()]
    assert record["status"] == "ok", record["error"]
    assert record["affinity_cpus"] is not None
    assert {int(c) for c in record["affinity_cpus"].split(",")} <= BIG_CPUS
    assert record["interference_pct"] is not None
    assert record["proof_samples"] >= 2
    if period == "600":
        assert record["proof_samples"] == 2  # the looks at start and exit, nothing between
        assert record["freq_min_khz"] is None  # clocks come only from samples between
