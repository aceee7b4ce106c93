"""The device's /proc/stat, in device CPU numbers and live.

The sandbox's /proc is the kernel's, whose `cpuN` lines are HOST cpus; a device
cpu d runs on host cpu host_map[d], which it may share with other device cpus.
So the device sees a fifo bound over /proc/stat, and this thread answers every
open with the host's counters at that moment: device cpu d's line is host cpu
host_map[d]'s, each counter divided by the number of online device cpus on that
host cpu. Summed over a cluster that fills its host cpus (the Pixel 1's big
cluster, cpu2-3 -> host 1) the lines give the host cpu's own counters, so the
run_trial.sh sampler's interference figure (busy - benchmark) / total holds.
Other lines (`cpu`, `intr`, `btime`, ...) pass through unchanged.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

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


class ProcStatServer:
    """Serves the fifo at ROOT/proc_stat until stopped."""

    def __init__(self, root: Path, topology: Topology) -> None:
        self.path = root / FIFO_NAME
        self.topology = topology
        self._stop = threading.Event()
        if not self.path.exists():
            os.mkfifo(self.path, 0o644)
        self._thread = threading.Thread(target=self._serve, name="sim-proc-stat", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens
            except OSError:
                return
            try:
                if self._stop.is_set():
                    return
                with open("/proc/stat") as fh:
                    text = translate(fh.read(), self.topology)
                os.write(fd, text.encode())
            except OSError as exc:
                if exc.errno != errno.EPIPE:  # the reader left early: fine
                    return
            finally:
                os.close(fd)
            # A reader still draining this answer would otherwise be handed the
            # next one too; it reads ~1 kB, far within this pause.
            self._stop.wait(0.02)

    def stop(self) -> None:
        """End the thread: wake its blocking open with a reader of our own."""
        self._stop.set()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        self._thread.join(2.0)
