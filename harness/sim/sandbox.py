"""Device processes: mksh in a bubblewrap namespace with the phone's paths mounted.

The namespace root is an empty tmpfs holding the instance's own `/data`
(writable), `/system`, the simulated sysfs trees (CPUs, thermal zones, power
supply, the iio bus) over a read-only `/sys`, a
fresh `/dev` and `/proc`, and of the host only what the device's programs need
to run, read-only (`hostfiles.py`: the shell, toybox, the interpreter of the
stand-in with its standard library and packages, their shared libraries). No
home folder, checkout, host /tmp or /etc is there; the root is read-only, as
a phone's. Unmodified device scripts find `/data/local/tmp`,
`/sys/devices/system/cpu` and `/system/bin/sh` where a phone has them. A user
namespace maps the phone's shell user (uid 2000) onto the sim's own uid, and a
pid namespace gives the device its own process table.

Creating the namespaces costs ~12-30 ms (bwrap), more than the whole `shell
true` budget, so each device builds them once: a holder process lives in them
for the device's lifetime, and every command joins them with `nsenter`
(setns, ~1 ms) before it execs `sh -c COMMAND`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from harness.errors import SimulatorError
from harness.sim import hostfiles, image, tools

# Inside the namespace the sim's private state (affinity log, fault knobs) lives here;
# it is under the fresh /dev tmpfs, where a phone's `ls /` does not show it.
STATE_MOUNT = "/dev/.harness-sim"
SHELL_UID = 2000
HOLDER_START_TIMEOUT_S = 30.0


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


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SimulatorError(f"{name} is not installed", hint=f"apt-get install {package}")
    return path


def host_view() -> hostfiles.HostView:
    """What of the host the device shows: its programs' runtime (slow once per process)."""
    programs = tuple(sorted(set(image.host_programs().values())))
    return hostfiles.host_view(programs, sys.executable, tools.import_lines())


def bwrap_argv(root: Path, view: hostfiles.HostView) -> list[str]:
    """The bubblewrap prefix that builds one device instance's namespaces."""
    argv = [_tool("bwrap", "bubblewrap")]
    # A pid namespace of its own: the device's `ps -A` lists its own processes,
    # not the host's, and they all die with the device.
    argv += ["--unshare-user", "--unshare-pid", "--uid", str(SHELL_UID), "--gid", str(SHELL_UID)]
    argv += view.mount_args()
    argv += [
        "--dev", "/dev",
        "--proc", "/proc",
        # /proc/stat in device cpu numbers, served live by procstat.py.
        "--ro-bind", str(root / "proc_stat"), "/proc/stat",
        "--ro-bind", "/sys", "/sys",
        "--bind", str(root / "data"), "/data",
        "--ro-bind", str(root / "system"), "/system",
        "--ro-bind", str(root / "sysfs" / "cpu"), "/sys/devices/system/cpu",
        "--ro-bind", str(root / "sysfs" / "thermal"), "/sys/class/thermal",
        # The phone's own fuel gauge and power meters, never the host's battery.
        "--ro-bind", str(root / "sysfs" / "power_supply"), "/sys/class/power_supply",
        "--ro-bind", str(root / "sysfs" / "bus"), "/sys/bus",
        "--bind", str(root / "state"), STATE_MOUNT,
        "--ro-bind", str(root / "system" / "etc" / "passwd"), "/etc/passwd",
        "--ro-bind", str(root / "system" / "etc" / "group"), "/etc/group",
    ]  # fmt: skip
    argv += view.seal_args()
    argv += ["--remount-ro", "/", "--chdir", "/", "--clearenv"]
    return argv


class Spawner:
    """Owns a device's namespaces and starts its shell processes inside them."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.holder: asyncio.subprocess.Process | None = None
        self.prefix: list[str] = []
        self.pgids: set[int] = set()
        self.procs: set[asyncio.subprocess.Process] = set()

    async def start(self) -> None:
        """Create the namespaces (one bwrap holder process) and the nsenter prefix."""
        nsenter = _tool("nsenter", "util-linux")
        view = await asyncio.to_thread(host_view)
        read_fd, write_fd = os.pipe()
        try:
            self.holder = await asyncio.create_subprocess_exec(
                *bwrap_argv(self.root, view), "--info-fd", str(write_fd),
                # Says when the namespace is complete, then lives until killed.
                "/system/bin/sh", "-c", "echo ready; read -r _",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(write_fd,),
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            os.close(read_fd)
            raise SimulatorError(f"cannot start bubblewrap: {exc}") from exc
        finally:
            os.close(write_fd)
        try:
            info = await asyncio.wait_for(
                asyncio.to_thread(_read_all, read_fd), HOLDER_START_TIMEOUT_S
            )
            child = int(json.loads(info)["child-pid"])
            # bwrap reports the pid before it has finished mounting: wait for the shell.
            assert self.holder.stdout is not None
            ready = await asyncio.wait_for(self.holder.stdout.readline(), HOLDER_START_TIMEOUT_S)
            if ready != b"ready\n":
                raise ValueError("the holder shell did not start")
        except (ValueError, KeyError, asyncio.TimeoutError) as exc:
            err = b""
            if self.holder.stderr is not None and self.holder.returncode is not None:
                err = await self.holder.stderr.read()
            detail = err.decode(errors="replace").strip()
            raise SimulatorError(
                f"bubblewrap did not set up the device namespaces: {detail}",
                hint="user namespaces must be allowed (CI runs as root)",
            ) from exc
        finally:
            os.close(read_fd)
        # --preserve-credentials: keep the sim's uid, which the namespace shows as 2000.
        self.prefix = [
            nsenter,
            f"--target={child}",
            "--user",
            "--mount",
            "--pid",
            "--preserve-credentials",
            "--wd=/",
        ]

    async def spawn(self, command: str) -> asyncio.subprocess.Process:
        """Start `sh -c command` inside the device; its pid is its process group."""
        if not self.prefix:
            raise SimulatorError("the device's namespaces are not set up")
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, "/system/bin/sh", "-c", command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            start_new_session=True,
        )  # fmt: skip
        self.pgids.add(proc.pid)
        self.procs.add(proc)
        asyncio.get_running_loop().create_task(self._reap(proc))
        return proc

    def popen(self, argv: list[str], pass_fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
        """Start `argv` inside the device from plain code, not the event loop (the sync agent)."""
        if not self.prefix:
            raise SimulatorError("the device's namespaces are not set up")
        proc = subprocess.Popen(
            [*self.prefix, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
            pass_fds=pass_fds,
            start_new_session=True,
        )
        self.pgids.add(proc.pid)
        return proc

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        await proc.wait()
        self.procs.discard(proc)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Kill every process group the device started (detached jobs too), then the holder."""
        for pgid in list(self.pgids):
            kill_group(pgid, signal.SIGKILL)
        self.pgids.clear()
        waits = [asyncio.ensure_future(p.wait()) for p in self.procs]
        if self.holder is not None and self.holder.returncode is None:
            kill_group(self.holder.pid, signal.SIGKILL)
            waits.append(asyncio.ensure_future(self.holder.wait()))
        if waits:
            await asyncio.wait(waits, timeout=timeout_s)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def kill_group(pgid: int, sig: int) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
