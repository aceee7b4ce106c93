"""Topology parsing and the device-CPU -> host-CPU map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import SimulatorError
from harness.sim import topology


def test_pixel1_on_two_host_cpus() -> None:
    topo = topology.parse(topology.PIXEL1, host_cpus=[0, 1])
    assert topo.host_map == {0: 0, 1: 0, 2: 1, 3: 1}
    assert topo.host_cpus([2, 3]) == [1]
    assert topo.cluster_of(3).max_khz == 2150400


def test_more_host_cpus_than_device_cpus() -> None:
    topo = topology.parse(topology.PIXEL1, host_cpus=list(range(8)))
    assert topo.host_map == {0: 0, 1: 2, 2: 4, 3: 6}


def test_one_host_cpu_and_explicit_host_cpus() -> None:
    assert set(topology.parse(topology.PIXEL1, host_cpus=[5]).host_map.values()) == {5}
    data = {
        "clusters": [
            {"cpus": [0], "max_khz": 1, "host_cpus": [1]},
            {"cpus": [1, 2], "max_khz": 2, "host_cpus": [0]},
        ]
    }
    assert topology.parse(data, host_cpus=[0, 1]).host_map == {0: 1, 1: 0, 2: 0}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"clusters": []},
        {"clusters": [{"cpus": [1], "max_khz": 5}]},  # no cpu0
        {"clusters": [{"cpus": [0, 1], "max_khz": 5}, {"cpus": [1], "max_khz": 6}]},  # repeated
        {"clusters": [{"cpus": [0], "max_khz": 0}]},
        {"clusters": [{"cpus": [0], "max_khz": 5, "colour": "red"}]},
        {"clusters": [{"cpus": [0], "max_khz": 5, "offline": [3]}]},
        {"clusters": [{"cpus": [0], "max_khz": 5, "host_cpus": [99]}]},
        {"clusters": [{"cpus": ["0"], "max_khz": 5}]},
    ],
)
def test_bad_topologies_are_refused(data: object) -> None:
    with pytest.raises(SimulatorError):
        topology.parse(data, host_cpus=[0, 1])


def test_load_from_file_and_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"clusters": [{"cpus": [0, 1, 2, 3], "max_khz": 1800000}]}))
    assert topology.load(path, host_cpus=[0]).cpus == [0, 1, 2, 3]
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(SimulatorError, match="cannot read topology"):
        topology.load(tmp_path / "bad.json")
    with pytest.raises(SimulatorError):
        topology.load(tmp_path / "missing.json")


def test_a_stripped_down_device_without_cpufreq_or_thermal_zones(tmp_path: Path) -> None:
    """`cpufreq: false` and `thermal_zones` shape the image as such a board's sysfs looks."""
    from harness.sim import image

    data = {
        "clusters": [{"cpus": [0, 1, 2, 3], "max_khz": 1800000}],
        "cpufreq": False,
        "thermal_zones": [],
    }
    topo = topology.parse(data, host_cpus=[0])
    assert topo.cpufreq is False and topo.thermal_zones == ()
    image.build_cpu_sysfs(tmp_path, topo)
    image.build_thermal(tmp_path, image.zones_of(topo))
    cpu = tmp_path / "sysfs" / "cpu"
    assert (cpu / "online").read_text() == "0-3\n" and (cpu / "cpu3" / "online").exists()
    assert not (cpu / "cpufreq").exists() and not (cpu / "cpu0" / "cpufreq").exists()
    assert list((tmp_path / "sysfs" / "thermal").iterdir()) == []
    # Zones of its own replace the Pixel 1's; absent, the Pixel 1's stay.
    own = topology.parse({**data, "thermal_zones": [{"type": "cpu0", "temp_c": 41.5}]})
    assert image.zones_of(own) == [("cpu0", 41.5)]
    assert image.zones_of(topology.parse(topology.PIXEL1)) == image.DEFAULT_ZONES
    assert topology.parse(json.loads(json.dumps(topo.to_json()))).cpufreq is False


def test_a_board_without_a_battery_has_no_gauge_or_meters() -> None:
    """`battery: false`: /sys/class/power_supply is empty and no meter answers."""
    from harness.sim.device import SimDevice

    bare = {"clusters": [{"cpus": [0, 1], "max_khz": 1800000}], "battery": False}
    assert topology.parse(bare, host_cpus=[0]).battery is False
    assert topology.parse(topology.PIXEL1, host_cpus=[0]).battery is True
    dev = SimDevice.start(topology=bare)
    try:
        assert list((dev.root / "sysfs" / "power_supply").iterdir()) == []
        assert list((dev.root / "sysfs" / "bus" / "iio" / "devices").iterdir()) == []
    finally:
        dev.stop()


@pytest.mark.parametrize(
    "extra",
    [
        {"cpufreq": "no"},
        {"battery": "none"},
        {"thermal_zones": {"cpu0": 40}},
        {"thermal_zones": [{"type": "", "temp_c": 40}]},
        {"thermal_zones": [{"type": "cpu0", "temp_c": "hot"}]},
        {"thermal_zones": [{"type": "cpu0", "temp_c": 40, "mode": "on"}]},
    ],
)
def test_bad_stripped_down_keys_are_refused(extra: dict[str, object]) -> None:
    with pytest.raises(SimulatorError):
        topology.parse({"clusters": [{"cpus": [0], "max_khz": 5}], **extra}, host_cpus=[0])
