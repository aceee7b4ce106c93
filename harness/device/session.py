"""The one wrapper through which every device call goes.

adbutils' defaults are traps for a lab (no socket timeout, `shell()` without
an exit code and returning partial output when the phone dies, unverified
pushes), so this module wraps them once: every call has a deadline, is logged
at debug level, counts as an adb round trip, and fails with a typed
`DeviceError` carrying serial, command, exit code and output.

Exit codes come from the `shell,v2` protocol; a device without `shell_v2`
gets the command wrapped so that it prints its own status after a random
marker (a missing marker means the output was cut short). Retries are bounded
and only for named transient states reported while *opening* the transport,
i.e. before the command reached the device, so a retry never runs anything
twice.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from harness.device import kv, sync
from harness.device.adb import AdbClient, AdbConnection, AdbError
from harness.device.calls import (
    OFFLINE_HINT,
    UNAUTHORIZED_HINT,
    ShellResult,
    map_adb_error,
    parse_sha256_line,
    tail,
)
from harness.device.quote import sh_join, sh_quote
from harness.device.wire import close, decode, expect_okay, send_all, service
from harness.errors import (
    DeviceCommandError,
    DeviceError,
    DeviceOfflineError,
    DeviceTimeoutError,
    SessionAborted,
    SyncClosed,
    SyncFailed,
    SyncTimeout,
    TransferError,
)

log = logging.getLogger(__name__)

__all__ = [
    "OFFLINE_HINT",
    "UNAUTHORIZED_HINT",
    "DeviceSession",
    "ShellResult",
    "map_adb_error",
    "parse_sha256_line",
]

T = TypeVar("T")

# Transient states adbd / the adb server report while a transport comes up
# (a TCP device re-attaches by itself within ~5-10 s): worth a bounded retry.
TRANSIENT_OPEN_ERRORS = ("device offline", "device still authorizing", "device still connecting")
OPEN_ATTEMPTS = 3
RETRY_DELAY_S = 1.0
# Host-side calls (features, state) are quick on any working server.
HOST_CALL_TIMEOUT_S = 10.0
FILE_QUERY_TIMEOUT_S = 30.0
# shell,v2 packet ids (AOSP shell_protocol.h).
_V2_STDOUT, _V2_STDERR, _V2_EXIT, _V2_CLOSE_STDIN = 1, 2, 3, 4


@dataclass(frozen=True)
class _Deadline:
    """A call's end (monotonic `at`), and the longest silence it allows (`idle_s`)."""

    at: float
    idle_s: float | None = None

    def next(self) -> float:
        """When the next bytes must have arrived: within idle_s from now, never past `at`."""
        if self.idle_s is None:
            return self.at
        return min(self.at, time.monotonic() + self.idle_s)

    def error(self, exc: BaseException, serial: str, command: str) -> DeviceError:
        """The DeviceError for a failed call; a timeout before `at` was the silence bound."""
        silent = isinstance(exc, SyncTimeout | TimeoutError) and time.monotonic() < self.at
        if silent and self.idle_s is not None:
            return DeviceTimeoutError(
                f"no output for {self.idle_s:g} s: {command}", serial=serial, command=command
            )
        return map_adb_error(exc, serial=serial, command=command)


class DeviceSession:
    """One attached device, reached through one adb server.

    `round_trips` counts every connection made to the adb server on this
    device's behalf, so benchmarks and tests can hold the harness to its
    "few round trips" promise.
    """

    def __init__(self, client: AdbClient, serial: str, *, shell_v2: bool | None = None) -> None:
        self._client = client
        self.serial = serial
        # None: use shell_v2 when the device advertises it (False forces the
        # marker path, as on pre-Nougat phones).
        self._use_v2 = shell_v2
        self.round_trips = 0
        self._features: frozenset[str] | None = None
        # Filled by harness.device.files.ensure_scripts (one check per session).
        self.scripts_dir: str | None = None
        # Sockets of calls in flight, so that abort() can cut them from another thread.
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        self._aborted = False

    def abort(self) -> None:
        """Cut every call in flight and refuse new ones (the run is stopping).

        A worker blocked in a long device wait returns at once with
        SessionAborted instead of holding the host for up to a call timeout.
        """
        with self._live_lock:
            self._aborted = True
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def reopen(self) -> None:
        """Accept calls again after abort() (for bounded cleanup calls)."""
        with self._live_lock:
            self._aborted = False

    def _check_aborted(self, command: str) -> None:
        if self._aborted:
            raise SessionAborted("the run is stopping", serial=self.serial, command=command)

    def _forget(self, conn: AdbConnection) -> None:
        with self._live_lock:
            self._live.discard(conn.conn)
        close(conn)

    def __repr__(self) -> str:
        return f"DeviceSession({self.serial!r} via {self._client.host}:{self._client.port})"

    @property
    def adb_server(self) -> str:
        """HOST:PORT of the adb server this session talks through."""
        return f"{self._client.host}:{self._client.port}"

    # -- transport ---------------------------------------------------------
    def _open(self, deadline: float, command: str) -> AdbConnection:
        """Connect to the server and switch to this device's transport."""
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeoutError(
                    f"timed out before reaching the device: {command}",
                    serial=self.serial,
                    command=command,
                )
            self._check_aborted(command)
            self.round_trips += 1
            conn: AdbConnection | None = None
            try:
                conn = self._client.make_connection(timeout=remaining)
                with self._live_lock:
                    self._live.add(conn.conn)
                    aborted = self._aborted
                if aborted:
                    raise EOFError("aborted")
                conn.send_command(f"host:transport:{self.serial}")
                conn.check_okay()
                return conn
            except (AdbError, OSError, EOFError) as exc:
                if conn is not None:
                    self._forget(conn)
                self._check_aborted(command)
                text = str(exc)
                transient = any(t in text for t in TRANSIENT_OPEN_ERRORS)
                time_left = deadline - time.monotonic() > RETRY_DELAY_S
                if transient and attempt < OPEN_ATTEMPTS and time_left:
                    log.debug(
                        "%s: %r while opening transport (attempt %d/%d); retrying in %.1f s",
                        self.serial,
                        text,
                        attempt,
                        OPEN_ATTEMPTS,
                        RETRY_DELAY_S,
                    )
                    time.sleep(RETRY_DELAY_S)
                    continue
                raise map_adb_error(exc, serial=self.serial, command=command) from exc
        raise AssertionError("unreachable")  # the loop returns or raises

    def _host_query(self, service: str, timeout_s: float) -> str:
        """A `host-serial:<serial>:<service>` request answered by the server itself."""
        self.round_trips += 1
        try:
            with self._client.make_connection(timeout=timeout_s) as conn:
                conn.send_command(f"host-serial:{self.serial}:{service}")
                conn.check_okay()
                return str(conn.read_string_block())
        except (AdbError, OSError, EOFError) as exc:
            raise map_adb_error(exc, serial=self.serial, command=service) from exc

    @property
    def features(self) -> frozenset[str]:
        """What the device advertises (`shell_v2`, `stat_v2`, ...); read once."""
        if self._features is None:
            text = self._host_query("features", HOST_CALL_TIMEOUT_S)
            self._features = frozenset(f for f in text.strip().split(",") if f)
            log.debug("%s: features %s", self.serial, ",".join(sorted(self._features)))
        return self._features

    # -- shell -------------------------------------------------------------
    def shell(
        self,
        argv: Sequence[str] | str,
        *,
        timeout_s: float,
        check: bool = True,
        idle_s: float | None = None,
    ) -> ShellResult:
        """Run a command on the device and return its exit code and output.

        `argv` as a list is quoted word by word; a plain string is a script
        the harness wrote itself and is sent as is. Raises DeviceTimeoutError
        after `timeout_s`, or after `idle_s` without a byte from the device (a
        long wait that prints a sign of life now and then: a lost device is
        noticed within `idle_s`, not at the end of the wait),
        DeviceOfflineError when the device goes away and, with `check`,
        DeviceCommandError on a non-zero exit.
        """
        cmd = argv if isinstance(argv, str) else sh_join(argv)
        deadline = time.monotonic() + timeout_s
        started = time.monotonic()
        use_v2 = self._use_v2 if self._use_v2 is not None else "shell_v2" in self.features
        run = self._shell_v2 if use_v2 else self._shell_marker
        result = run(cmd, _Deadline(deadline, idle_s))
        log.debug(
            "%s $ %s -> exit %d in %.0f ms, %d+%d chars%s",
            self.serial,
            cmd,
            result.exit_code,
            (time.monotonic() - started) * 1e3,
            len(result.stdout),
            len(result.stderr),
            f": {result.output[:200]!r}" if result.output else "",
        )
        if check and result.exit_code != 0:
            raise DeviceCommandError(
                f"`{cmd[:200]}` exited {result.exit_code}: {tail(result.output).strip()[-300:]}",
                serial=self.serial,
                command=cmd,
                device_exit_code=result.exit_code,
                stdout=tail(result.stdout),
                stderr=tail(result.stderr),
            )
        return result

    def _shell_v2(self, cmd: str, limit: _Deadline) -> ShellResult:
        deadline = limit.at
        conn = self._open(deadline, cmd)
        try:
            sock = conn.conn
            send_all(sock, service(f"shell,v2,raw:{cmd}"), deadline)
            expect_okay(sock, deadline)
            # Our stdin is never a terminal: say so, like the adb client does,
            # so a command that reads stdin sees EOF instead of waiting.
            send_all(sock, struct.pack("<BI", _V2_CLOSE_STDIN, 0), deadline)
            out, err = bytearray(), bytearray()
            while True:
                head = sync.recv_exact(sock, 5, limit.next())
                kind, length = head[0], struct.unpack("<I", head[1:])[0]
                data = sync.recv_exact(sock, length, limit.next()) if length else b""
                if kind == _V2_STDOUT:
                    out += data
                elif kind == _V2_STDERR:
                    err += data
                elif kind == _V2_EXIT:
                    code = data[0] if data else 255
                    return ShellResult(code, decode(out), decode(err))
        except (OSError, EOFError, AdbError, SyncTimeout, SyncClosed) as exc:
            self._check_aborted(cmd)
            raise limit.error(exc, self.serial, cmd) from exc
        finally:
            self._forget(conn)

    def _shell_marker(self, cmd: str, limit: _Deadline) -> ShellResult:
        """Legacy `shell:` without exit codes: the command prints its own status.

        The command runs in a subshell so that an `exit` inside it still lets
        the marker line print; the marker is random so no output can forge it.
        Without a marker the device died mid-command: that is an error, not
        a short but successful output.
        """
        marker = f"__harness_exit_{secrets.token_hex(6)}__"
        # 2>&1: one pipe keeps stderr ahead of the marker (two may interleave).
        wrapped = f"( {cmd}\n) 2>&1; echo {sh_quote(marker)}$?"
        deadline = limit.at
        conn = self._open(deadline, cmd)
        try:
            sock = conn.conn
            send_all(sock, service(f"shell:{wrapped}"), deadline)
            expect_okay(sock, deadline)
            raw = bytearray()
            while True:
                remaining = limit.next() - time.monotonic()
                if remaining <= 0:
                    raise SyncTimeout("no exit marker before the deadline")
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except (OSError, EOFError, AdbError, SyncTimeout) as exc:
            self._check_aborted(cmd)
            raise limit.error(exc, self.serial, cmd) from exc
        finally:
            self._forget(conn)
        text = decode(raw)
        idx = text.rfind(marker)
        rest = text[idx + len(marker) :] if idx >= 0 else ""
        digits, _, after = rest.partition("\n")
        if not kv.digits(digits.strip()):
            raise DeviceOfflineError(
                f"output ended without the exit marker (device gone?): {cmd[:200]}",
                serial=self.serial,
                command=cmd,
                stdout=tail(text),
                hint=OFFLINE_HINT,
            )
        return ShellResult(int(digits), text[:idx] + after, "")

    # -- files -------------------------------------------------------------
    def _sync(self, what: str, timeout_s: float, fn: Callable[[socket.socket, float], T]) -> T:
        deadline = time.monotonic() + timeout_s
        conn = self._open(deadline, what)
        started = time.monotonic()
        try:
            sock = conn.conn
            send_all(sock, service("sync:"), deadline)
            expect_okay(sock, deadline)
            result = fn(sock, deadline)
            sync.quit_(sock, deadline)
        except SyncFailed as exc:
            raise TransferError(
                f"{what} refused by the device: {exc}",
                serial=self.serial,
                command=what,
                stderr=str(exc),
            ) from exc
        except (OSError, EOFError, AdbError, SyncTimeout, SyncClosed) as exc:
            self._check_aborted(what)
            raise map_adb_error(exc, serial=self.serial, command=what) from exc
        finally:
            self._forget(conn)
        log.debug("%s: %s in %.0f ms", self.serial, what, (time.monotonic() - started) * 1e3)
        return result

    def push(self, local: Path | str, remote: str, *, timeout_s: float, mode: int = 0o644) -> None:
        """Copy a host file to the device and check the size that arrived."""
        src = Path(local)
        if not src.is_file():
            raise TransferError(f"push: no such local file {src}", serial=self.serial)
        size = src.stat().st_size
        what = f"push {src} -> {remote}"

        got = self._sync(what, timeout_s, lambda s, d: sync.push(s, src, remote, mode, d))
        if got.size != size & 0xFFFFFFFF:
            raise TransferError(
                f"{what}: {got.size} bytes arrived, {size} sent", serial=self.serial, command=what
            )

    def pull(self, remote: str, local: Path | str, *, timeout_s: float) -> None:
        """Copy a device file to the host (written whole or not at all)."""
        dst = Path(local)
        what = f"pull {remote} -> {dst}"

        def run(sock: socket.socket, deadline: float) -> tuple[sync.RemoteStat, int]:
            st = sync.stat(sock, remote, deadline)
            if not st.exists:
                raise SyncFailed(f"no such file on the device: {remote}")
            return st, sync.pull(sock, remote, dst, deadline)

        st, received = self._sync(what, timeout_s, run)
        if st.is_file and received != st.size:
            dst.unlink(missing_ok=True)
            raise TransferError(
                f"{what}: got {received} bytes of {st.size}", serial=self.serial, command=what
            )

    def stat(self, remote: str, *, timeout_s: float = FILE_QUERY_TIMEOUT_S) -> sync.RemoteStat:
        """Mode, size and mtime of a device path (all zero when it does not exist)."""
        return self._sync(f"stat {remote}", timeout_s, lambda s, d: sync.stat(s, remote, d))

    def exists(self, remote: str, *, timeout_s: float = FILE_QUERY_TIMEOUT_S) -> bool:
        """Whether a device path exists (one sync round trip, no shell)."""
        return self.stat(remote, timeout_s=timeout_s).exists

    def sha256(self, remote: str, *, timeout_s: float = FILE_QUERY_TIMEOUT_S) -> str | None:
        """sha256 of a device file computed on the device, or None when it is absent."""
        q = sh_quote(remote)
        script = f"if [ -f {q} ]; then sha256sum {q}; else echo absent; fi"
        result = self.shell(script, timeout_s=timeout_s)
        return parse_sha256_line(result.stdout, remote, serial=self.serial)
