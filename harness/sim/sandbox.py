"""Device processes: mksh under bubblewrap with the phone's paths mounted.

The namespace root is built from read-only binds of the host's top-level
directories, plus the instance's own `/data` (writable), `/system`, and the
simulated sysfs trees, so unmodified device scripts find `/data/local/tmp`,
`/sys/devices/system/cpu` and `/system/bin/sh` where a phone has them.

Starting bwrap costs ~12 ms, which would eat most of the `shell true` budget,
so a few sandboxes are started ahead of time: each is a mksh waiting for its
command on a pipe, which then execs `sh -c COMMAND`. The bwrap argv is
computed once per device.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections import deque
from pathlib import Path

from harness.errors import SimulatorError

# Host top-level entries that the device replaces with its own.
_REPLACED = {"data", "system", "sys", "proc", "dev", "vendor"}
# Inside the namespace the sim's private state (affinity log, fault knobs) lives here;
# it is under the fresh /dev tmpfs, where a phone's `ls /` does not show it.
STATE_MOUNT = "/dev/.harness-sim"

# The warm shell's first job: read "LENGTH\nCOMMAND" from its stdin and become
# `sh -c COMMAND` (argv0 "sh"). mksh's `read -N` takes an exact byte count and
# never reads ahead on a pipe, so whatever follows on stdin is the command's input.
_WAITER = 'IFS= read -r n && IFS= read -r -N "$n" c && exec -a sh /system/bin/sh -c "$c"'

POOL_SIZE = 2
SHELL_UID = 2000


def device_env(props: dict[str, str]) -> dict[str, str]:
    """The environment of an `adb shell` on a phone (shell user)."""
    return {
        "PATH": "/system/bin",
        "HOME": "/",
        "TMPDIR": "/data/local/tmp",
        "USER": "shell",
        "LOGNAME": "shell",
        "SHELL": "/system/bin/sh",
        "HOSTNAME": props.get("ro.product.device", "localhost"),
        "ANDROID_DATA": "/data",
        "ANDROID_ROOT": "/system",
        "HARNESS_SIM_STATE": STATE_MOUNT,
    }


def bwrap_argv(root: Path, env: dict[str, str]) -> list[str]:
    """The bubblewrap prefix for one device instance rooted at `root`."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SimulatorError(
            "bubblewrap (bwrap) is not installed", hint="apt-get install bubblewrap"
        )
    # The phone's `adb shell` runs as the shell user (uid 2000), not root: a user
    # namespace maps it onto the sim's own uid, so scripts that test for root behave.
    argv = [bwrap, "--unshare-user", "--uid", str(SHELL_UID), "--gid", str(SHELL_UID)]
    for entry in sorted(os.listdir("/")):
        if entry in _REPLACED:
            continue
        argv += ["--ro-bind", f"/{entry}", f"/{entry}"]
    argv += [
        "--dev", "/dev",
        "--proc", "/proc",
        "--ro-bind", "/sys", "/sys",
        "--bind", str(root / "data"), "/data",
        "--ro-bind", str(root / "system"), "/system",
        "--ro-bind", str(root / "sysfs" / "cpu"), "/sys/devices/system/cpu",
        "--ro-bind", str(root / "sysfs" / "thermal"), "/sys/class/thermal",
        "--bind", str(root / "state"), STATE_MOUNT,
        "--ro-bind", str(root / "system" / "etc" / "passwd"), "/etc/passwd",
        "--ro-bind", str(root / "system" / "etc" / "group"), "/etc/group",
        "--chdir", "/",
        "--clearenv",
    ]  # fmt: skip
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv


class Spawner:
    """Starts device shell processes, keeping a few sandboxes warm."""

    def __init__(self, prefix: list[str]) -> None:
        self.prefix = prefix
        self._warm: deque[asyncio.subprocess.Process] = deque()
        self._filling = False
        self.pgids: set[int] = set()
        self.procs: set[asyncio.subprocess.Process] = set()
        self._closed = False

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.prefix,
                "/system/bin/sh", "-c", _WAITER,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise SimulatorError(f"cannot start the device shell: {exc}") from exc
        self.pgids.add(proc.pid)
        self.procs.add(proc)
        asyncio.get_running_loop().create_task(self._reap(proc))
        return proc

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        await proc.wait()
        self.procs.discard(proc)

    async def _fill(self) -> None:
        if self._filling:
            return
        self._filling = True
        try:
            while len(self._warm) < POOL_SIZE and not self._closed:
                self._warm.append(await self._start())
        finally:
            self._filling = False

    async def spawn(self, command: str) -> asyncio.subprocess.Process:
        """Start `sh -c command` inside the device; its pid is its process group."""
        proc: asyncio.subprocess.Process | None = None
        while self._warm:
            candidate = self._warm.popleft()
            if candidate.returncode is None:
                proc = candidate
                break
        if proc is None:
            proc = await self._start()
        assert proc.stdin is not None
        raw = command.encode("utf-8", "surrogateescape")
        proc.stdin.write(b"%d\n%s" % (len(raw), raw))
        await proc.stdin.drain()
        asyncio.get_running_loop().create_task(self._fill())
        return proc

    async def warm_up(self) -> None:
        await self._fill()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Kill every process group the device started (including detached jobs)."""
        self._closed = True
        self._warm.clear()
        for pgid in list(self.pgids):
            kill_group(pgid, signal.SIGKILL)
        self.pgids.clear()
        if self.procs:
            waits = [asyncio.ensure_future(p.wait()) for p in self.procs]
            await asyncio.wait(waits, timeout=timeout_s)


def kill_group(pgid: int, sig: int) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
