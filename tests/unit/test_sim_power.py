"""The simulated phone's power model: counters = CPU time x cluster power + idle x time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import SimulatorError
from harness.sim import image, power, powerfiles, profiles, topology
from harness.sim.power import PowerModel, parse_tick

MS = 1_000_000  # ns


class Clock:
    """A boot clock the test moves by hand."""

    def __init__(self, ms: int) -> None:
        self.ns = ms * MS

    def __call__(self) -> int:
        return self.ns

    def advance(self, ms: int) -> None:
        self.ns += ms * MS


def make(tmp_path: Path, name: str, clock: Clock) -> PowerModel:
    profile = profiles.get(name)
    topo = topology.parse(profile.topology, host_cpus=[0, 1])
    (tmp_path / "state").mkdir()
    image.build_cpu_sysfs(tmp_path, topo)
    image.build_thermal(tmp_path, image.zones_of(topo))
    powerfiles.build(tmp_path, profile.power)
    power.create_ledger(tmp_path)
    (tmp_path / "state" / "affinity.jsonl").touch()
    return PowerModel(tmp_path, topo, profile.power, clock_ns=clock)


def append(root: Path, *lines: str) -> None:
    with open(root / "state" / "cpu.log", "a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def pin(root: Path, pid: int, device_cpus: list[int], host_cpus: list[int]) -> None:
    record = {"pid": pid, "device_cpus": device_cpus, "host_cpus": host_cpus}
    with open(root / "state" / "affinity.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")


def rails(text: str) -> tuple[int, dict[str, int]]:
    """energy_value text -> (t, {rail: uWs})."""
    lines = text.splitlines()
    t = int(lines[0].removeprefix("t="))
    out = {}
    for line in lines[1:]:
        name = line[line.index("[") + 1 : line.index("]")]
        out[name] = int(line.split(", ")[1])
    return t, out


def test_a_tick_line_is_parsed_or_refused() -> None:
    tick = parse_tick("8 123 5000 timed 1,0")
    assert tick is not None and tick.host_cpus == {0, 1} and tick.phase == "timed"
    for bad in ("8 123 5000 timed", "8 x 5000 timed 1", "8 1 5 sleeping 1", ""):
        assert parse_tick(bad) is None


def test_idle_counters_advance_by_idle_power_times_time(tmp_path: Path) -> None:
    clock = Clock(10_000)
    model = make(tmp_path, "pixel6", clock)
    t0, e0 = rails(model.energy_value(0))
    clock.advance(2_500)
    t1, e1 = rails(model.energy_value(0))
    assert t0 == 10_000 and t1 == 12_500
    # mW x ms = uWs: every rail's counter is its idle draw since boot.
    idle = {r.name: r.idle_mw for r in profiles.PIXEL6_POWER.rails}
    assert e1 == {name: idle[name] * 12_500 for name in e1}
    assert {name: e1[name] - e0[name] for name in e1} == {n: idle[n] * 2_500 for n in e1}


def test_cpu_time_is_charged_to_the_cluster_of_its_mask_at_the_cluster_clock(
    tmp_path: Path,
) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    _, e0 = rails(model.energy_value(0))
    pin(tmp_path, 8, [6, 7], [1])  # taskset c0: the two X1 cores
    append(tmp_path, "8 77 200000000 init 1", "8 77 500000000 timed 1")
    clock.advance(1_000)
    _, e1 = rails(model.energy_value(0))
    big = 0.5 * 1500 * 1000  # 0.5 s of CPU at 1500 mW (its max clock) in uWs
    assert e1["S2M_VDD_CPUCL2"] - e0["S2M_VDD_CPUCL2"] == int(10 * 1_000 + big)
    assert e1["S3M_VDD_CPUCL1"] - e0["S3M_VDD_CPUCL1"] == 8 * 1_000  # idle only
    (proc,) = model.processes()
    assert proc.device_cpus == (6, 7)
    assert proc.cpu_ns_by_phase == {"init": 200_000_000, "timed": 300_000_000}
    assert proc.uws_by_phase == pytest.approx({"init": 0.2 * 1.5e6, "timed": 0.3 * 1.5e6})
    assert proc.uws == pytest.approx(big)


def test_a_mask_over_two_clusters_splits_the_time_evenly_over_its_cpus(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    pin(tmp_path, 9, [4, 5, 6, 7], [1])
    append(tmp_path, "9 5 400000000 timed 1")
    (proc,) = model.processes()
    # 0.1 s on each of 4 cpus: two A76 at 600 mW, two X1 at 1500 mW.
    assert proc.uws_by_cluster == pytest.approx({4: 0.2 * 600_000, 6: 0.2 * 1_500_000})


def test_an_unpinned_process_spreads_over_the_cpus_of_its_host_cpus(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)  # host 0 <- cpu0-3, host 1 <- cpu4-7
    append(tmp_path, "11 5 800000000 timed 0,1")
    (proc,) = model.processes()
    assert proc.device_cpus == tuple(range(8))
    assert proc.uws_by_cluster == pytest.approx(
        {0: 0.4 * 150_000, 4: 0.2 * 600_000, 6: 0.2 * 1_500_000}
    )


def test_a_capped_clock_lowers_the_power_by_the_cube_of_the_ratio(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    cluster = model.topology.cluster_of(6)
    image.set_policy_cap(tmp_path, cluster, cluster.max_khz // 2)
    pin(tmp_path, 8, [6], [1])
    append(tmp_path, "8 1 1000000000 timed 1")
    (proc,) = model.processes()
    assert proc.uws == pytest.approx(1_500_000 / 8)


def test_counters_only_move_when_read_and_the_odpm_cache_holds_50_ms(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    first = model.energy_value(0)
    append(tmp_path, "8 1 100000000 timed 1")
    clock.advance(power.ODPM_MIN_POLL_MS - 1)
    assert model.energy_value(0) == first  # the driver answers from its cache
    clock.advance(1)
    assert model.energy_value(0) != first


def test_a_second_process_with_the_same_pid_is_its_own_process(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    append(tmp_path, "8 1 100000000 timed 1", "8 2 50000000 timed 1")
    first, second = model.processes()
    assert (first.cpu_ns, second.cpu_ns) == (100_000_000, 50_000_000)


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    with open(tmp_path / "state" / "cpu.log", "a") as fh:
        fh.write("8 1 1000")
    assert model.processes() == []
    with open(tmp_path / "state" / "cpu.log", "a") as fh:
        fh.write("00000 timed 1\n")
    (proc,) = model.processes()
    assert proc.cpu_ns == 100_000_000


def test_on_usb_power_the_gauge_charges_whatever_the_phone_does(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel1", clock)
    start = model.charge_uah()
    append(tmp_path, "8 1 900000000 timed 1")
    clock.advance(3_600_000)  # an hour
    assert model.current_ua() == 500_000
    assert model.charge_uah() - start == pytest.approx(500_000)


def test_on_battery_the_gauge_drains_by_the_modelled_energy(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel1", clock)
    model.set_plugged(False)
    gauge = profiles.PIXEL1_POWER.gauge
    idle_mw = profiles.PIXEL1_POWER.idle_mw()
    start = model.charge_uah()
    clock.advance(2_000)
    assert model.current_ua() == pytest.approx(-idle_mw * 1000 / (gauge.voltage_uv / 1e6))
    pin(tmp_path, 8, [2, 3], [1])
    append(tmp_path, "8 1 500000000 timed 1")  # 0.5 s on the gold cores
    clock.advance(500)
    cpu_uws = 0.5 * 800_000
    drawn_uws = idle_mw * 2_500 + cpu_uws
    assert start - model.charge_uah() == pytest.approx(drawn_uws / gauge.voltage_uv / 3.6e-3)
    # current_now averages the last second: all of the idle draw and the CPU burst.
    assert model.current_ua() == pytest.approx(
        -(idle_mw + cpu_uws / 1000) * 1000 / (gauge.voltage_uv / 1e6)
    )


def test_unplugging_carries_the_charge_over(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel1", clock)
    clock.advance(1_000)
    before = model.charge_uah()
    model.set_plugged(False)
    assert model.charge_uah() == pytest.approx(before)


def test_state_files_follow_the_usb_power(tmp_path: Path) -> None:
    clock = Clock(1_000)
    model = make(tmp_path, "pixel1", clock)
    battery = powerfiles.battery_dir(tmp_path)
    powerfiles.write_state(tmp_path, model)
    assert (battery / "status").read_text() == "Charging\n"
    assert "usb=true\nstatus=2" in (tmp_path / "state" / "battery").read_text()
    model.set_plugged(False)
    powerfiles.write_state(tmp_path, model)
    assert (battery / "status").read_text() == "Discharging\n"
    assert (tmp_path / "sysfs" / "power_supply" / "usb" / "online").read_text() == "0\n"
    assert "usb=false\nstatus=3" in (tmp_path / "state" / "battery").read_text()


def test_the_pixel1_has_a_gauge_and_no_meters(tmp_path: Path) -> None:
    clock = Clock(1_000)
    make(tmp_path, "pixel1", clock)
    assert (powerfiles.battery_dir(tmp_path) / "voltage_now").read_text() == "4213000\n"
    assert list((tmp_path / "sysfs" / "bus" / "iio" / "devices").iterdir()) == []


def test_meter_files_read_like_the_odpm_driver(tmp_path: Path) -> None:
    clock = Clock(1_000)
    make(tmp_path, "pixel6", clock)
    main = powerfiles.meter_dir(tmp_path, 0)
    assert (main / "name").read_text() == "s2mpg10-odpm\n"
    assert (main / "enabled_rails").read_text().splitlines()[3] == "CH3[S2M_VDD_CPUCL2]:CPU(BIG)"
    assert (powerfiles.meter_dir(tmp_path, 1) / "name").read_text() == "s2mpg11-odpm\n"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(SimulatorError, match="unknown device profile 'pixel9'"):
        profiles.get("pixel9")


def test_a_thermal_cap_charges_earlier_cpu_time_at_the_old_clock(tmp_path: Path) -> None:
    from harness.sim.faults import Faults

    clock = Clock(1_000)
    model = make(tmp_path, "pixel6", clock)
    faults = Faults(tmp_path, model.topology, model)
    pin(tmp_path, 8, [6], [1])
    append(tmp_path, "8 1 1000000000 timed 1")  # 1 s before the cap, at 2.8 GHz
    faults.set_thermal(max_khz={6: 1401000})
    append(tmp_path, "8 1 2000000000 timed 1")  # 1 s after it, at half the clock
    (proc,) = model.processes()
    assert proc.uws == pytest.approx(1_500_000 + 1_500_000 / 8)
    faults.clear_thermal()
    append(tmp_path, "8 1 3000000000 timed 1")
    (proc,) = model.processes()
    assert proc.uws == pytest.approx(2 * 1_500_000 + 1_500_000 / 8)


def test_the_battery_fault_sets_the_gauge_files_and_keeps_the_usb_state(tmp_path: Path) -> None:
    from harness.sim.faults import Faults

    model = make(tmp_path, "pixel1", Clock(1_000))
    faults = Faults(tmp_path, model.topology, model)
    faults.set_usb_power(False)
    faults.set_battery(level=12, temp_c=41.5)
    battery = powerfiles.battery_dir(tmp_path)
    assert (battery / "capacity").read_text() == "12\n" and (
        battery / "temp"
    ).read_text() == "415\n"
    assert (
        "level=12\ntemperature=415\nac=false\nusb=false\nstatus=3"
        in (tmp_path / "state" / "battery").read_text()
    )
    faults.apply({"usb_power": True})
    assert (battery / "status").read_text() == "Charging\n"
