"""Fault switches that do not need a running device: counters, patterns, state files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SimulatorError
from harness.sim import image, topology
from harness.sim.faults import Faults


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
