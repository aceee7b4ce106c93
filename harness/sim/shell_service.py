"""The `shell:`, `shell,v2,...:` and `exec:` services.

Raw services (`shell:`, `exec:`) carry the process's stdout and stderr merged,
host bytes are its stdin, and closing the stream ends the session. The v2
protocol (`shell_protocol.h`) frames everything as `[id u8][len u32 LE][data]`:
ids 0 stdin, 1 stdout, 2 stderr, 3 exit (one byte), 4 close-stdin, 5 window
size; the device reports the exit status before it closes the stream.

When the host closes a stream first (a killed `adb shell`, a dropped cable),
the device does what AOSP adbd does (packages/modules/adb,
daemon/shell_service.cpp, `Subprocess::PassDataStreams`; see docs/sim.md):
for a shell-protocol session it sends SIGHUP to the shell's pid only (adbd's
`kill(pid_, SIGHUP)`; the shell is a session leader, adbd having called
`setsid()` in the child) and closes its ends of the output pipes, so a
process that keeps writing gets EPIPE / SIGPIPE; then it waits for the shell.
A raw session only loses its socket. The `group` hang-up policy (a fault)
instead signals the whole process group, SIGHUP then SIGKILL, as some
independent adb daemons do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

from harness.sim.sandbox import Spawner, kill_group
from harness.sim.transport import Stream

ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN, ID_WINDOW = range(6)
_FRAME = struct.Struct("<BI")
_CHUNK = 64 * 1024
# Under the `group` hang-up policy: after SIGHUP a session gets this long before SIGKILL.
HANGUP_GRACE_S = 1.0
HANGUP_POLICIES = ("adbd", "group")


def parse_service(service: str) -> tuple[str, bool, str] | None:
    """`shell,v2,raw:ls` -> ("shell", True, "ls"); None if it is not a shell service."""
    if service.startswith("exec:"):
        return "exec", False, service[5:]
    match = re.match(r"^shell(,[^:]*)?:", service)
    if match is None:
        return None
    args = (match.group(1) or "").split(",")
    return "shell", "v2" in args, service[match.end() :]


def frame(ident: int, data: bytes) -> bytes:
    return _FRAME.pack(ident, len(data)) + data


class ShellSession:
    """One command on the device, wired to one adb stream."""

    def __init__(
        self,
        stream: Stream,
        spawner: Spawner,
        command: str,
        v2: bool,
        hang: Callable[[str], bool],
        hangup_policy: Callable[[], str] = lambda: "adbd",
        observe: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.stream = stream
        self.spawner = spawner
        self.command = command
        self.v2 = v2
        self.hang = hang
        self.hangup_policy = hangup_policy
        self.observe = observe  # the device's `command` event (faults keyed to it run first)
        self._hung_up = False

    async def run(self) -> None:
        if self.observe is not None:
            await self.observe(self.command)
            if self.stream.closed:
                return  # what was keyed to this command cut the connection: it never runs
        if self.hang(self.command):
            # A hung command: no output, no exit, until the host gives up and closes.
            while await self.stream.read():
                pass
            return
        # An empty command is an interactive shell; without a tty it reads stdin.
        command = self.command if self.command.strip() else "exec /system/bin/sh"
        proc = await self.spawner.spawn(command)
        pump_in = asyncio.get_running_loop().create_task(self._pump_stdin(proc))
        try:
            await asyncio.gather(
                self._pump_out(proc.stdout, ID_STDOUT), self._pump_out(proc.stderr, ID_STDERR)
            )
            code = await proc.wait()
            if code < 0:
                code = 128 - code  # killed by signal N: a phone's shell reports 128+N
        except asyncio.CancelledError:
            await self._hang_up(proc)
            raise
        finally:
            pump_in.cancel()
        if self.stream.closed:
            return
        if self.v2:
            await self.stream.write(frame(ID_EXIT, bytes([code & 0xFF])))

    async def _pump_out(self, pipe: asyncio.StreamReader | None, ident: int) -> None:
        if pipe is None:
            return
        while True:
            data = await pipe.read(_CHUNK)
            if not data:
                return
            if self.stream.closed:
                if self._hung_up:
                    return  # adbd closed its end: the writer gets EPIPE / SIGPIPE
                continue  # keep draining so the process is never blocked on a full pipe
            await self.stream.write(frame(ident, data) if self.v2 else data)

    async def _pump_stdin(self, proc: asyncio.subprocess.Process) -> None:
        stdin = proc.stdin
        assert stdin is not None
        buffer = b""
        try:
            while True:
                data = await self.stream.read()
                if not data:
                    break  # the host closed the stream
                if not self.v2:
                    stdin.write(data)
                    await stdin.drain()
                    continue
                buffer += data
                while len(buffer) >= _FRAME.size:
                    ident, length = _FRAME.unpack_from(buffer)
                    if len(buffer) < _FRAME.size + length:
                        break
                    payload = buffer[_FRAME.size : _FRAME.size + length]
                    buffer = buffer[_FRAME.size + length :]
                    if ident == ID_STDIN:
                        stdin.write(payload)
                        await stdin.drain()
                    elif ident == ID_CLOSE_STDIN:
                        stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the command stopped reading; adbd drops the rest too
        if self.stream.closed and proc.returncode is None:
            await self._hang_up(proc)

    async def _hang_up(self, proc: asyncio.subprocess.Process) -> None:
        """The host went away: what adbd does (or the `group` policy's SIGHUP + SIGKILL)."""
        if proc.returncode is not None or self._hung_up:
            return
        self._hung_up = True
        if self.hangup_policy() == "group":
            kill_group(proc.pid, signal.SIGHUP)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), HANGUP_GRACE_S)
                return
            kill_group(proc.pid, signal.SIGKILL)
            return
        if self.v2:
            shell = _shell_pid(proc.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(shell, signal.SIGHUP)
        _close_output_pipes(proc)


def _shell_pid(nsenter_pid: int) -> int:
    """The device shell's host pid: `nsenter --pid` forks it as its only child."""
    try:
        text = Path(f"/proc/{nsenter_pid}/task/{nsenter_pid}/children").read_text()
    except OSError:
        return nsenter_pid
    children = text.split()
    return int(children[0]) if children else nsenter_pid


def _close_output_pipes(proc: asyncio.subprocess.Process) -> None:
    """Close the device's read ends of stdout/stderr, as adbd resets its socketpair fds."""
    transport = getattr(proc, "_transport", None)
    for fd in (1, 2):
        pipe = transport.get_pipe_transport(fd) if transport is not None else None
        if pipe is not None:
            pipe.close()
