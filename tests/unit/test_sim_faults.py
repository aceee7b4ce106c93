"""Fault switches that do not need a running device: counters, patterns, state files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from harness.errors import SimulatorError
from harness.sim import image, topology
from harness.sim.events import EVENTS_SOCKET, EventServer, Trigger, Triggers
from harness.sim.faults import Faults
from harness.sim.tools import benchmark_model as standin


@pytest.fixture
def faults(tmp_path: Path) -> Faults:
    topo = topology.parse(topology.PIXEL1, host_cpus=[0, 1])
    (tmp_path / "state").mkdir()
    image.build_cpu_sysfs(tmp_path, topo)
    image.build_thermal(tmp_path, image.DEFAULT_ZONES)
    return Faults(tmp_path, topo)


def test_byte_budget_trips_once(faults: Faults) -> None:
    assert not faults.count_bytes(10)
    faults.drop_after_bytes(100)
    assert not faults.count_bytes(60)
    assert not faults.count_bytes(40)
    assert faults.count_bytes(1)
    assert not faults.count_bytes(10_000)  # one-shot: disarmed after it fired


def test_command_budget_trips_at_the_next_command(faults: Faults) -> None:
    faults.drop_after_commands(2)
    assert [faults.count_command() for _ in range(4)] == [False, False, True, False]


def test_hang_patterns_and_push_allowance(faults: Faults) -> None:
    assert not faults.hangs("sleep 5")
    faults.hang_commands(r"sleep \d+")
    assert faults.hangs("echo a; sleep 5") and not faults.hangs("echo sleep")
    assert faults.push_allowance() is None
    faults.fail_pushes(0)
    assert faults.push_allowance() == 0
    faults.clear()
    assert not faults.hangs("sleep 5") and faults.push_allowance() is None


def test_a_hang_for_some_times_then_answers(faults: Faults) -> None:
    faults.hang_commands(r"run_trial\.sh begin ", times=2)
    asked = [faults.hangs(c) for c in ("sh run_trial.sh begin a", "ls", "sh run_trial.sh begin b")]
    assert asked == [True, False, True]
    assert not faults.hangs("sh run_trial.sh begin c")  # used up: the next one answers
    with pytest.raises(SimulatorError, match="whole number"):
        faults.hang_commands("x", times=0)


def test_an_action_runs_at_the_nth_matching_event_from_when_it_was_set(faults: Faults) -> None:
    seen: list[tuple[str, int]] = []
    faults.triggers.happened("benchmark_start", "benchmark_model --graph=a")  # before: not counted
    once = faults.on("benchmark_start", lambda e: seen.append(("once", e.count)), nth=2)
    each = faults.on(
        "command", lambda e: seen.append((e.text, e.count)), match=r"begin", every=True
    )
    for text in ("sh run_trial.sh begin 1", "cat x", "sh run_trial.sh begin 2"):
        faults.triggers.happened("command", text)
    assert not once.fired.is_set()
    faults.triggers.happened("benchmark_start", "benchmark_model --graph=b")
    faults.triggers.happened("benchmark_start", "benchmark_model --graph=c")
    faults.triggers.happened("benchmark_start", "benchmark_model --graph=d")
    # The device's own counts run from its start; a trigger counts from when it was set.
    assert seen == [("sh run_trial.sh begin 1", 1), ("sh run_trial.sh begin 2", 3), ("once", 3)]
    assert once.fired.is_set() and [e.text for e in once.events] == ["benchmark_model --graph=c"]
    assert each.events[-1].count == 3 and faults.triggers.count("benchmark_start") == 4
    assert faults.triggers.watching("command") and not faults.triggers.watching("benchmark_end")
    faults.clear()  # cancels them all
    faults.triggers.happened("command", "sh run_trial.sh begin 3")
    assert len(seen) == 3 and not faults.triggers.watching("command")


def test_a_failing_action_is_kept_and_the_device_goes_on(faults: Faults) -> None:
    def broken(_event: object) -> None:
        raise RuntimeError("the test's own bug")

    trigger = faults.on("benchmark_end", broken)
    event = faults.triggers.happened("benchmark_end", "benchmark_model", exit_code=0)
    assert event.exit_code == 0 and trigger.fired.is_set()
    assert [str(e) for e in trigger.errors] == ["the test's own bug"]


@pytest.mark.parametrize(
    ("kind", "kwargs", "message"),
    [
        ("reboot", {}, "unknown device event"),
        ("command", {"nth": 0}, "whole number"),
        ("command", {"match": "("}, "not a regular expression"),
    ],
)
def test_bad_event_keys_are_clear_errors(
    faults: Faults, kind: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(SimulatorError, match=message):
        faults.on(kind, lambda _e: None, **kwargs)  # type: ignore[arg-type]


def test_the_stand_in_waits_at_its_event_until_the_action_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the state folder's socket, as the device's benchmark_model reports: its
    report is answered only once the action keyed to it has returned."""
    state = tmp_path / "state"
    state.mkdir()
    triggers = Triggers()
    release, acting = threading.Event(), threading.Event()

    def action(_event: object) -> None:
        acting.set()
        assert release.wait(30)

    trigger = triggers.add(Trigger("benchmark_start", action, 1, None, False))
    server = EventServer(state, triggers)
    monkeypatch.setattr(standin, "STATE", str(state))
    try:
        reporter = threading.Thread(target=standin.device_event, args=("benchmark_start",),
                                    kwargs={"stdout": "/data/local/tmp/t/stdout"})  # fmt: skip
        reporter.start()
        assert acting.wait(30)
        reporter.join(0.2)
        assert reporter.is_alive(), "the report was answered before the action returned"
        release.set()
        reporter.join(30)
        assert not reporter.is_alive()
    finally:
        server.stop()
    [event] = trigger.events
    assert (event.kind, event.count, event.pid, event.stdout) == (
        "benchmark_start", 1, os.getpid(), "/data/local/tmp/t/stdout"
    )  # fmt: skip
    assert not (state / EVENTS_SOCKET).exists()
    standin.device_event("benchmark_end", exit_code=0)  # no device: nothing to tell, no wait


def test_thermal_and_slowdown_write_device_files(faults: Faults, tmp_path: Path) -> None:
    faults.set_thermal(temps_c={"tsens_tz_sensor4": 80.25}, max_khz={3: 1000000})
    assert (tmp_path / "sysfs/thermal/thermal_zone7/temp").read_text() == "80250\n"
    policy = tmp_path / "sysfs/cpu/cpufreq/policy2"
    assert (policy / "scaling_max_freq").read_text() == "1000000\n"
    assert (tmp_path / "sysfs/cpu/cpufreq/policy0/scaling_max_freq").read_text() == "1593600\n"
    faults.clear_thermal()
    assert (policy / "scaling_max_freq").read_text() == "2150400\n"
    faults.set_slowdown(2.5)
    assert (tmp_path / "state/slowdown").read_text() == "2.5\n"


def test_gpu_fault_is_a_state_file_the_stand_in_reads(faults: Faults, tmp_path: Path) -> None:
    flag = tmp_path / "state" / "gpu_fails"
    faults.set_gpu_fails(True)
    assert flag.read_text() == "on\n"
    faults.set_gpu_fails(False)
    assert not flag.exists()
    faults.apply({"gpu_fails": True})
    assert flag.exists()
    faults.clear()
    assert not flag.exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.apply({"gpu_fails": "yes"}),
        lambda f: f.drop_after_bytes(-1),
        lambda f: f.set_slowdown(0.5),
        lambda f: f.set_thermal(temps_c={99: 50.0}),
        lambda f: f.set_thermal(max_khz={9: 1}),
        lambda f: f.hang_commands("("),
        lambda f: f.drop_now(),  # not running
        lambda f: f.apply({"teleport": True}),
    ],
)
def test_bad_fault_requests_are_clear_errors(faults: Faults, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SimulatorError):
        call(faults)


def test_a_non_empty_foreign_root_is_refused(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    (precious / "system").mkdir(parents=True)
    (precious / "system" / "keep.txt").write_text("mine")
    topo = topology.parse(topology.PIXEL1, host_cpus=[0])
    with pytest.raises(SimulatorError, match="not a simulated device's folder"):
        image.build(precious, {"ro.product.model": "Pixel"}, topo)
    assert (precious / "system" / "keep.txt").read_text() == "mine"
