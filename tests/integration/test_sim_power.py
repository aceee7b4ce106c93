"""The simulated phone's power files, read through adb as a shell user reads a phone's.

Every energy check is decided by the power model's own truth (what it charged
each benchmark_model process) and the counters' timestamps, never by how fast
the host ran the model.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.sim import SimDevice, profiles

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUN = "--num_threads=1 --warmup_runs=2 --warmup_min_secs=0 --num_runs=10 --min_secs=0"
BATTERY = "/sys/class/power_supply/battery"
METERS = "/sys/bus/iio/devices/iio:device"


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    from harness.catalogue import get
    from harness.convert import convert_many

    (model,) = convert_many([get("mobilenet_v2_0.35_96")], progress=False)
    return Path(model.path)


def _shell(adb_server, dev: SimDevice, command: str) -> str:
    result = adb_server.run("-s", dev.serial, "shell", command, timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _bench(adb_server, dev: SimDevice, model: Path, mask: str) -> None:
    remote = "/data/local/tmp/tiny.tflite"
    pushed = adb_server.run("-s", dev.serial, "push", str(model), remote, timeout_s=60)
    assert pushed.returncode == 0, pushed.stderr
    out = _shell(adb_server, dev, f"taskset {mask} benchmark_model --graph={remote} {RUN}")
    assert "Inference timings in us" in out


def _energy(adb_server, dev: SimDevice) -> dict[str, tuple[int, int]]:
    """Every rail of both meters: name -> (t in ms, uWs), parsed as the power-stats HAL does."""
    text = _shell(adb_server, dev, f"cat {METERS}0/energy_value {METERS}1/energy_value")
    rails: dict[str, tuple[int, int]] = {}
    t = 0
    for line in text.splitlines():
        if line.startswith("t="):
            t = int(line[2:])
        else:
            name = line[line.index("[") + 1 : line.index("]")]
            rails[name] = (t, int(line.split(", ")[1]))
    return rails


def test_pixel6_rails_advance_by_the_modelled_energy(
    make_sim, adb_server, tiny_model: Path
) -> None:
    dev = make_sim(profile="pixel6")
    assert _shell(adb_server, dev, "getprop ro.product.model; getprop ro.board.platform") == (
        "Pixel 6\ngs101\n"
    )
    before = _energy(adb_server, dev)
    _bench(adb_server, dev, tiny_model, "c0")  # the two X1 cores, cpu6-7
    after = _energy(adb_server, dev)

    (proc,) = dev.power.processes()
    assert proc.device_cpus == (6, 7)
    assert proc.uws_by_phase["timed"] > 0 and set(proc.uws_by_cluster) == {6}
    charged = {"S2M_VDD_CPUCL2": proc.uws_by_cluster[6]}
    for rail in profiles.PIXEL6_POWER.rails:
        (t0, e0), (t1, e1) = before[rail.name], after[rail.name]
        expected = rail.idle_mw * (t1 - t0) + charged.get(rail.name, 0.0)
        assert e1 - e0 == pytest.approx(expected, abs=1), rail.name


def test_pixel6_hal_and_powerstats_dumps_list_the_same_rails(make_sim, adb_server) -> None:
    dev = make_sim(profile="pixel6")
    channels = _shell(adb_server, dev, "dumpsys powerstats")
    assert "PowerStatsService dumpsys: available Channels" in channels
    assert "  ChannelId: 3, ChannelName: S2M_VDD_CPUCL2, ChannelSubsystem: CPU(BIG)" in channels
    assert "  ChannelId: 10, ChannelName: S9S_VDD_AOC, ChannelSubsystem: AOC" in channels
    hal = _shell(adb_server, dev, "dumpsys android.hardware.power.stats.IPowerStats/default")
    meter = hal[hal.index("energy meter") :].splitlines()
    rows = [line for line in meter if " mWs" in line]
    assert len(rows) == 16 and rows[3].split()[0] == "[S2M_VDD_CPUCL2]:CPU(BIG)"
    assert _shell(adb_server, dev, "ls /sys/bus/iio/devices; cat /sys/bus/iio/devices/*/name") == (
        "iio:device0\niio:device1\ns2mpg10-odpm\ns2mpg11-odpm\n"
    )


def test_the_phone_shows_its_own_power_supply_only(sim: SimDevice, adb_server) -> None:
    assert _shell(adb_server, sim, "ls /sys/class/power_supply /sys/bus/iio/devices") == (
        "/sys/bus/iio/devices:\n\n/sys/class/power_supply:\nbattery\nusb\n"
    )
    assert "Can't find service: powerstats" in _shell(adb_server, sim, "dumpsys powerstats")


def test_pixel1_on_usb_charges_and_unplug_only_fakes_the_report(sim: SimDevice, adb_server) -> None:
    state = _shell(adb_server, sim, f"cat {BATTERY}/status {BATTERY}/current_now; dumpsys battery")
    assert state.startswith("Charging\n500000\n")
    assert "  USB powered: true" in state and "  status: 2" in state
    # `dumpsys battery unplug` changes what BatteryService reports, not the charger.
    faked = _shell(adb_server, sim, "dumpsys battery unplug; dumpsys battery")
    assert "  USB powered: false" in faked and "(UPDATES STOPPED" in faked
    assert _shell(adb_server, sim, f"cat {BATTERY}/status {BATTERY}/current_now") == (
        "Charging\n500000\n"
    )
    _shell(adb_server, sim, "dumpsys battery reset")
    assert "  USB powered: true" in _shell(adb_server, sim, "dumpsys battery")


def test_pixel1_unplugged_gauge_drains_by_the_modelled_energy(
    make_sim, adb_server, tiny_model: Path
) -> None:
    dev = make_sim()
    dev.faults.set_usb_power(False)
    report = _shell(adb_server, dev, f"cat {BATTERY}/status; dumpsys battery")
    assert report.startswith("Discharging\n") and "  USB powered: false" in report
    read = f"cat {BATTERY}/charge_counter"
    outer0 = time.monotonic()
    charge0 = int(_shell(adb_server, dev, read))
    inner0 = time.monotonic()
    _bench(adb_server, dev, tiny_model, "c")  # the gold cores, cpu2-3
    inner1 = time.monotonic()
    charge1 = int(_shell(adb_server, dev, read))
    outer1 = time.monotonic()

    (proc,) = dev.power.processes()
    assert set(proc.uws_by_cluster) == {2}
    spec = profiles.PIXEL1_POWER
    volts_ms = spec.gauge.voltage_uv * 3.6e-3  # uWs per uAh

    def drained(seconds: float) -> float:
        return (spec.idle_mw() * seconds * 1000 + proc.uws) / volts_ms

    # The idle part depends on when the gauge was read, which lies between the
    # wall times taken around the two reads; 1 uAh for each truncated counter.
    assert drained(inner1 - inner0) - 2 <= charge0 - charge1 <= drained(outer1 - outer0) + 2
    assert int(_shell(adb_server, dev, f"cat {BATTERY}/current_now")) < 0
