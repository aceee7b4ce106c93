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
