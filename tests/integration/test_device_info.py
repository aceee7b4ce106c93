"""Device info, core masks, thermal state and pinning on simulated phones via real adb."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.device import thermal
from harness.device.cores import select_cores
from harness.device.info import read_info
from harness.device.select import connect
from harness.device.session import DeviceSession
from harness.errors import CorePolicyError
from harness.sim import SimDevice

pytestmark = pytest.mark.integration

PIXEL2 = {
    "clusters": [
        {"cpus": [0, 1, 2, 3], "max_khz": 1900800},
        {"cpus": [4, 5, 6, 7], "max_khz": 2457600},
    ]
}
TRI = {
    "clusters": [
        {"cpus": [0, 1, 2, 3], "max_khz": 1785600},
        {"cpus": [4, 5], "max_khz": 2419200},
        {"cpus": [6, 7], "max_khz": 2841600},
    ]
}


def _open(sim: SimDevice) -> DeviceSession:
    [session] = connect([sim.serial])
    return session


def test_pixel1_info(sim: SimDevice) -> None:
    session = _open(sim)
    info = read_info(session)
    assert (info.model, info.device, info.platform) == ("Pixel", "sailfish", "msm8996")
    assert info.sdk == 29 and info.fingerprint and info.abi
    assert [(c.cpus, c.max_khz) for c in info.clusters] == [
        ((0, 1), 1593600),
        ((2, 3), 2150400),
    ]
    assert info.masks == {"big": "c", "prime": "c", "little": "3", "all": "f"}
    assert {z.type for z in info.thermal_zones} >= {"battery", "tsens_tz_sensor0"}
    assert info.battery_level == 85 and info.battery_temp_c == pytest.approx(28.1)
    assert info.screen_on is True and any("screen is on" in w for w in info.warnings)
    assert info.emulated and "shell_v2" in info.features
    # Warm: the scripts are already there, so one hash check plus one info call.
    again = _open(sim)
    again.features  # noqa: B018 - read once, as any first call would
    before = again.round_trips
    read_info(again)
    assert again.round_trips - before == 2


@pytest.mark.parametrize(
    ("topology", "big", "prime", "little"),
    [(PIXEL2, "f0", "f0", "f"), (TRI, "f0", "c0", "f")],
    ids=["pixel2", "tri-cluster"],
)
def test_custom_topologies(
    make_sim: Callable[..., SimDevice],
    topology: dict[str, object],
    big: str,
    prime: str,
    little: str,
) -> None:
    session = _open(make_sim(topology=topology))
    assert read_info(session).masks == {"big": big, "prime": prime, "little": little, "all": "ff"}
    assert select_cores(session, "prime").mask == prime


def test_offline_big_cores(make_sim: Callable[..., SimDevice]) -> None:
    topo = {
        "clusters": [
            {"cpus": [0, 1], "max_khz": 1593600},
            {"cpus": [2, 3], "max_khz": 2150400, "offline": [3]},
        ]
    }
    session = _open(make_sim(topology=topo))
    sel = select_cores(session, "big")
    assert (sel.mask, sel.cpus) == ("4", (2,))
    assert any("cpu3" in w for w in sel.warnings)


def test_bad_policy_is_refused_before_the_device(sim: SimDevice) -> None:
    session = _open(sim)
    before = session.round_trips
    with pytest.raises(CorePolicyError):
        select_cores(session, "turbo; reboot")
    assert session.round_trips == before


def test_big_pins_to_the_host_cpus_of_cpu2_3(sim: SimDevice) -> None:
    session = _open(sim)
    sel = select_cores(session, "big")
    assert (sel.mask, sel.cpus) == ("c", (2, 3))
    session.shell(["taskset", sel.mask, "benchmark_model", "--help"], timeout_s=60, check=False)
    records = [r for r in sim.affinity_records() if "benchmark_model" in " ".join(r["argv"])]
    assert records, sim.affinity_records()
    expected = sim.topology.host_cpus([2, 3])
    assert all(sorted(r["host_cpus"]) == expected for r in records)
    assert all(sorted(r["device_cpus"]) == [2, 3] for r in records)


def test_snapshot_shows_throttling(sim: SimDevice) -> None:
    session = _open(sim)
    calm = thermal.snapshot(session, [2, 3])
    assert calm.freqs["2"][0] == 2150400
    sim.faults.set_thermal(temps_c={"tsens_tz_sensor3": 61.5}, max_khz={2: 1036800})
    hot = thermal.snapshot(session, [2, 3])
    assert hot.freqs["2"][0] == 1036800 and hot.freqs["3"][0] == 1036800
    assert hot.max_temp_c == pytest.approx(61.5) and hot.source == "cpu"


@pytest.mark.timeout(120)  # a hang guard only: a wait that never gives up never returns
def test_wait_cool_gives_up_and_says_so(sim: SimDevice) -> None:
    session = _open(sim)
    sim.faults.set_thermal(temps_c={"tsens_tz_sensor1": 48.0})
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)  # the wait's own time passes only in its naps: no host speed

    def clock() -> float:
        return sum(naps)

    result = thermal.wait_cool(
        session, max_temp_c=40.0, timeout_s=1.0, poll_s=0.3, sleep=nap, clock=clock
    )
    assert not result.cooled and result.temp_c == pytest.approx(48.0)
    # It polled at its interval until one more nap would pass the timeout, then gave up.
    assert naps == [0.3, 0.3, 0.3] and result.waited_s == pytest.approx(0.9)
    sim.faults.clear_thermal()
    cooled = thermal.wait_cool(session, max_temp_c=40.0, timeout_s=5.0, poll_s=0.3)
    assert cooled.cooled and cooled.temp_c is not None and cooled.temp_c < 40.0


def test_low_battery_warns(sim: SimDevice) -> None:
    sim.faults.set_battery(level=12)
    warnings = thermal.check_conditions(_open(sim))
    assert any("battery at 12%" in w for w in warnings)


def test_fixed_performance_is_always_restored(make_sim: Callable[..., SimDevice]) -> None:
    device = make_sim(props={"ro.build.version.sdk": "30", "ro.build.version.release": "11"})
    session = _open(device)
    state = device.root / "state" / "fixed_performance_mode"
    with pytest.raises(RuntimeError), thermal.fixed_performance(session, 30) as enabled:
        assert enabled and state.read_text().strip() == "true"
        raise RuntimeError("a trial blew up")
    assert state.read_text().strip() == "false"


def test_fixed_performance_needs_android_11(sim: SimDevice) -> None:
    session = _open(sim)
    with thermal.fixed_performance(session, 29) as enabled:
        assert not enabled
