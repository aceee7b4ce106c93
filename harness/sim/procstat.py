"""The device's /proc/stat, in device CPU numbers and live.

The sandbox's /proc is the kernel's, whose `cpuN` lines are HOST cpus; a device
cpu d runs on host cpu host_map[d], which it may share with other device cpus.
So the device sees a live file (`livefiles.py`) bound over /proc/stat, answered
at every open with the host's counters at that moment: device cpu d's line is host cpu
host_map[d]'s, each counter divided by the number of online device cpus on that
host cpu. Summed over a cluster that fills its host cpus (the Pixel 1's big
cluster, cpu2-3 -> host 1) the lines give the host cpu's own counters, so the
run_trial.sh sampler's interference figure (busy - benchmark) / total holds.
Other lines (`cpu`, `intr`, `btime`, ...) pass through unchanged.
"""

from __future__ import annotations

from pathlib import Path

from harness.sim.livefiles import LiveFile
from harness.sim.topology import Topology

FIFO_NAME = "proc_stat"


def translate(host_text: str, topology: Topology) -> str:
    """Host /proc/stat text -> the device's (see the module docstring)."""
    offline = {cpu for c in topology.clusters for cpu in c.offline}
    online = sorted(d for d in topology.host_map if d not in offline)
    sharers: dict[int, int] = {}
    for d in online:
        sharers[topology.host_map[d]] = sharers.get(topology.host_map[d], 0) + 1
    host_lines: dict[int, list[int]] = {}
    head: list[str] = []
    tail: list[str] = []
    for line in host_text.splitlines():
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit():
            host_lines[int(name[3:])] = [int(x) for x in rest.split()]
        elif host_lines:
            tail.append(line)
        else:
            head.append(line)
    out = list(head)
    for d in online:
        values = host_lines.get(topology.host_map[d])
        if values is not None:
            k = sharers[topology.host_map[d]]
            out.append(f"cpu{d} " + " ".join(str(v // k) for v in values))
    return "\n".join([*out, *tail]) + "\n"


def serve(root: Path, topology: Topology) -> LiveFile:
    """The fifo at ROOT/proc_stat, answered with the device's /proc/stat until stopped."""

    def render() -> str:
        with open("/proc/stat") as fh:
            return translate(fh.read(), topology)

    return LiveFile(root / FIFO_NAME, render)
