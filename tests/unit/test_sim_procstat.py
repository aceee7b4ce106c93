"""The simulated device's /proc/stat: host counters in device cpu numbers."""

from __future__ import annotations

from harness.sim import topology
from harness.sim.procstat import translate

HOST = (
    "cpu  30 0 30 40 0 0 0 0 0 0\n"
    "cpu0 10 0 10 20 0 0 0 0 0 0\n"
    "cpu1 20 0 20 20 0 0 0 0 0 0\n"
    "intr 5\n"
)


def test_device_lines_split_their_host_cpu_evenly() -> None:
    topo = topology.parse(topology.PIXEL1, host_cpus=[0, 1])  # cpu0-1 -> host 0, cpu2-3 -> 1
    lines = translate(HOST, topo).splitlines()
    assert lines[0].startswith("cpu  30")  # the total line passes through
    assert lines[1:5] == [
        "cpu0 5 0 5 10 0 0 0 0 0 0",
        "cpu1 5 0 5 10 0 0 0 0 0 0",
        "cpu2 10 0 10 10 0 0 0 0 0 0",
        "cpu3 10 0 10 10 0 0 0 0 0 0",
    ]
    assert lines[5] == "intr 5"
    # The big cluster's lines sum to its host cpu's own counters.
    big = [list(map(int, line.split()[1:])) for line in lines[3:5]]
    assert [a + b for a, b in zip(*big, strict=True)] == [20, 0, 20, 20, 0, 0, 0, 0, 0, 0]
