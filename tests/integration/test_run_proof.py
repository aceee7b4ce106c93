"""Proof in every record, on the simulated device: affinity read back, heat, clocks, interference.

Each trial is held open by the simulator's hold fault (benchmark_model pauses
between runs) until the wrapper has taken its samples, then let go; one trial
gets a fault applied when its `started` file appears, cleared once its samples
are taken and before it is let go. So what a trial sees is
set by events on the device, never by how fast the host computes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
BIG_CPUS = {2, 3}
WAIT_S = 120.0
STORED = re.compile(r"^\[(\d+)/\d+\]")


def _sessions(serial: str) -> list[Any]:
    from harness.device.select import connect

    return list(connect([serial]))


def _samples(trial_dir: Path) -> int:
    path = trial_dir / "samples"
    text = path.read_text() if path.exists() else ""
    return sum(line.startswith("sample ") and " self=" in line for line in text.splitlines())


class Conductor:
    """Lets each trial go once it has `needed` samples; trial `target` (0-based) gets `fault`."""

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
        self.errors: list[str] = []
        self.faulted: str | None = None  # the trial folder the fault was applied in
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Conductor:
        self.sim.faults.set_hold(True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(10)
        self.sim.faults.set_hold(False)
        self.clear()

    def emit(self, message: str) -> None:
        """The run's progress: trial k stored, the next not begun. Hold again."""
        if STORED.match(message):
            self.sim.faults.set_hold(True)

    def _watch(self) -> None:
        seen: set[Path] = set()
        while not self._done.is_set():
            fresh = [
                p.parent
                for p in self.sim.root.glob("data/**/trials/*/started")
                if p.parent not in seen
            ]
            for trial_dir in fresh:
                seen.add(trial_dir)
                index = len(seen) - 1
                base = _samples(trial_dir)
                if index == self.target:
                    try:
                        self.fault()
                    except Exception as exc:  # reported by the test, not lost in this thread
                        self.errors.append(f"fault for trial {index}: {exc}")
                    self.faulted = trial_dir.name
                    base = _samples(trial_dir)  # samples from here on saw the fault
                deadline = time.monotonic() + WAIT_S
                while _samples(trial_dir) < base + self.needed:
                    if time.monotonic() > deadline or (trial_dir / "exit_code").exists():
                        self.errors.append(f"trial {index} ended or stalled before its samples")
                        break
                    time.sleep(0.05)
                if index == self.target:
                    # Gone before the trial is let go: its own samples saw the fault,
                    # its exit look and the snapshot after it (the next trial's
                    # "before") see the phone as it is again.
                    self.clear()
                self.sim.faults.set_hold(False)
            time.sleep(0.05)


def _run(sim: Any, tmp_path: Path, conductor: Conductor, trials: int) -> list[dict[str, Any]]:
    settings = RunSettings(
        devices=[sim.serial], variants=[VARIANT], trials=trials, runs=3, warmup=1,
        out=tmp_path, seed=5, report=False, cooldown_timeout_s=30,
    )  # fmt: skip
    with conductor:
        outcome = run(settings, sessions=_sessions(sim.serial), emit=conductor.emit)
    assert conductor.errors == []
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
        deadline = time.monotonic() + WAIT_S
        while not session.shell(["cat", pid_file], timeout_s=30, check=False).stdout.strip():
            assert time.monotonic() < deadline, "the busy process never started"
            time.sleep(0.1)

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
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, period: str
) -> None:
    """One run, no warm-up: over long before the sampler's first nap ends (with a
    600 s period, whatever the host's speed), yet its record has the affinity read
    back and the interference over its whole length, from the looks at start and exit."""
    # The phone's environment, as the sampling-cost benchmark sets it.
    monkeypatch.setitem(sim._core.spawner.env, "HARNESS_SAMPLE_S", period)
    looked = threading.Event()
    done = threading.Event()

    def release_after_the_start_look() -> None:
        # The benchmark pauses after its run until the start look is on file: its end
        # comes after that look by the order of events, not by the host's speed.
        deadline = time.monotonic() + WAIT_S
        while not done.is_set() and time.monotonic() < deadline:
            for started in sim.root.glob("data/**/trials/*/started"):
                samples = started.parent / "samples"
                if samples.exists() and "sample at=start " in samples.read_text():
                    looked.set()
            if looked.is_set():
                break
            time.sleep(0.02)
        sim.faults.set_hold(False)

    sim.faults.set_hold(True)
    watcher = threading.Thread(target=release_after_the_start_look, daemon=True)
    watcher.start()
    settings = RunSettings(
        devices=[sim.serial], variants=[VARIANT], trials=1, runs=1, warmup=0,
        out=tmp_path, seed=3, report=False, cooldown_timeout_s=30,
    )  # fmt: skip
    try:
        outcome = run(settings, sessions=_sessions(sim.serial))
    finally:
        done.set()
        watcher.join(10)
        sim.faults.set_hold(False)
    assert looked.is_set(), "no start look was taken"
    [record] = [json.loads(x) for x in (outcome.run_dir / "trials.jsonl").read_text().splitlines()]
    assert record["status"] == "ok", record["error"]
    assert record["affinity_cpus"] is not None
    assert {int(c) for c in record["affinity_cpus"].split(",")} <= BIG_CPUS
    assert record["interference_pct"] is not None
    assert record["proof_samples"] >= 2
    if period == "600":
        assert record["proof_samples"] == 2  # the looks at start and exit, nothing between
        assert record["freq_min_khz"] is None  # clocks come only from samples between
