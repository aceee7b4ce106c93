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
import os
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import adbutils
from adbutils import AdbClient, AdbConnection, AdbError

from harness.device import sync
from harness.device.quote import sh_join, sh_quote
from harness.errors import (
    DeviceCommandError,
    DeviceError,
    DeviceOfflineError,
    DeviceTimeoutError,
    DeviceUnauthorizedError,
    TransferError,
)

log = logging.getLogger(__name__)

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
_OUTPUT_TAIL_CHARS = 2000

UNAUTHORIZED_HINT = (
    "unlock the phone and accept the 'Allow USB debugging?' prompt for this host, then retry; "
    "no prompt? revoke USB debugging authorizations in Developer options and replug the "
    "cable (or `adb disconnect` and `adb connect` it again)"
)
OFFLINE_HINT = (
    "reconnect the cable or run `adb connect HOST:PORT` again; `harness devices` lists "
    "what the adb server sees"
)


class SessionAborted(DeviceError):
    """The run is stopping (Ctrl-C, SIGTERM): calls in flight were cut, new ones refused."""


@dataclass(frozen=True)
class ShellResult:
    """What a device shell command returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (stderr last), for messages and parsers."""
        return self.stdout + self.stderr


def _tail(text: str) -> str:
    return text if len(text) <= _OUTPUT_TAIL_CHARS else "..." + text[-_OUTPUT_TAIL_CHARS:]


def map_adb_error(exc: BaseException, *, serial: str | None, command: str) -> DeviceError:
    """Turn an adbutils / socket failure into the matching DeviceError subclass."""
    if isinstance(exc, DeviceError):
        return exc
    text = str(exc).strip()
    if isinstance(exc, adbutils.AdbTimeout | TimeoutError | socket.timeout | sync.SyncTimeout):
        return DeviceTimeoutError(
            f"timed out: {command}", serial=serial, command=command, output=text or None
        )
    if "unauthorized" in text:
        return DeviceUnauthorizedError(
            "device is unauthorized",
            serial=serial,
            command=command,
            output=text,
            hint=UNAUTHORIZED_HINT,
        )
    lowered = text.lower()
    if (
        isinstance(exc, EOFError | ConnectionError | sync.SyncClosed)
        or not text
        or "offline" in lowered
        or "not found" in lowered
        or "closed" in lowered
    ):
        return DeviceOfflineError(
            f"device went away during: {command}" + (f" ({text})" if text else ""),
            serial=serial,
            command=command,
            output=text or None,
            hint=OFFLINE_HINT,
        )
    return DeviceError(f"adb failed: {text} (during: {command})", serial=serial, command=command)


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
        _close(conn)

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

    def get_state(self, *, timeout_s: float = HOST_CALL_TIMEOUT_S) -> str:
        """`device`, `offline`, `unauthorized`, ... as the server sees it now."""
        return self._host_query("get-state", timeout_s).strip()

    # -- shell -------------------------------------------------------------
    def shell(
        self, argv: Sequence[str] | str, *, timeout_s: float, check: bool = True
    ) -> ShellResult:
        """Run a command on the device and return its exit code and output.

        `argv` as a list is quoted word by word; a plain string is a script
        the harness wrote itself and is sent as is. Raises DeviceTimeoutError
        after `timeout_s`, DeviceOfflineError when the device goes away and,
        with `check`, DeviceCommandError on a non-zero exit.
        """
        cmd = argv if isinstance(argv, str) else sh_join(argv)
        deadline = time.monotonic() + timeout_s
        started = time.monotonic()
        use_v2 = self._use_v2 if self._use_v2 is not None else "shell_v2" in self.features
        run = self._shell_v2 if use_v2 else self._shell_marker
        result = run(cmd, deadline)
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
                f"`{cmd[:200]}` exited {result.exit_code}: {_tail(result.output).strip()[-300:]}",
                serial=self.serial,
                command=cmd,
                exit_code=result.exit_code,
                output=_tail(result.output),
            )
        return result

    def _shell_v2(self, cmd: str, deadline: float) -> ShellResult:
        conn = self._open(deadline, cmd)
        try:
            sock = conn.conn
            _send_all(sock, _service(f"shell,v2,raw:{cmd}"), deadline)
            _expect_okay(sock, deadline)
            # Our stdin is never a terminal: say so, like the adb client does,
            # so a command that reads stdin sees EOF instead of waiting.
            _send_all(sock, struct.pack("<BI", _V2_CLOSE_STDIN, 0), deadline)
            out, err = bytearray(), bytearray()
            while True:
                head = _recv_exact(sock, 5, deadline)
                kind, length = head[0], struct.unpack("<I", head[1:])[0]
                data = _recv_exact(sock, length, deadline) if length else b""
                if kind == _V2_STDOUT:
                    out += data
                elif kind == _V2_STDERR:
                    err += data
                elif kind == _V2_EXIT:
                    code = data[0] if data else 255
                    return ShellResult(code, _decode(out), _decode(err))
        except (OSError, EOFError, AdbError, sync.SyncTimeout, sync.SyncClosed) as exc:
            self._check_aborted(cmd)
            raise map_adb_error(exc, serial=self.serial, command=cmd) from exc
        finally:
            self._forget(conn)

    def _shell_marker(self, cmd: str, deadline: float) -> ShellResult:
        """Legacy `shell:` without exit codes: the command prints its own status.

        The command runs in a subshell so that an `exit` inside it still lets
        the marker line print; the marker is random so no output can forge it.
        Without a marker the device died mid-command: that is an error, not
        a short but successful output.
        """
        marker = f"__harness_exit_{secrets.token_hex(6)}__"
        # 2>&1: one pipe keeps stderr ahead of the marker (two may interleave).
        wrapped = f"( {cmd}\n) 2>&1; echo {sh_quote(marker)}$?"
        conn = self._open(deadline, cmd)
        try:
            sock = conn.conn
            _send_all(sock, _service(f"shell:{wrapped}"), deadline)
            _expect_okay(sock, deadline)
            raw = bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise sync.SyncTimeout("no exit marker before the deadline")
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except (OSError, EOFError, AdbError, sync.SyncTimeout) as exc:
            self._check_aborted(cmd)
            raise map_adb_error(exc, serial=self.serial, command=cmd) from exc
        finally:
            self._forget(conn)
        text = _decode(raw)
        idx = text.rfind(marker)
        rest = text[idx + len(marker) :] if idx >= 0 else ""
        digits, _, after = rest.partition("\n")
        if not digits.strip().isdigit():
            raise DeviceOfflineError(
                f"output ended without the exit marker (device gone?): {cmd[:200]}",
                serial=self.serial,
                command=cmd,
                output=_tail(text),
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
            _send_all(sock, _service("sync:"), deadline)
            _expect_okay(sock, deadline)
            result = fn(sock, deadline)
            sync.quit_(sock, deadline)
        except sync.SyncFailed as exc:
            raise TransferError(
                f"{what} refused by the device: {exc}",
                serial=self.serial,
                command=what,
                output=str(exc),
            ) from exc
        except (OSError, EOFError, AdbError, sync.SyncTimeout, sync.SyncClosed) as exc:
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
                raise sync.SyncFailed(f"no such file on the device: {remote}")
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


def parse_sha256_line(stdout: str, remote: str, *, serial: str | None) -> str | None:
    """Read `sha256sum` output (`<hex>  <path>`); None for the `absent` answer."""
    first = stdout.strip().split("\n", 1)[0].strip()
    if first == "absent":
        return None
    # A leading backslash says sha256sum escaped the file name; the hash follows.
    digest = first.lstrip("\\").split(" ", 1)[0].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DeviceError(
            f"cannot read the sha256 of {remote}: {first[:120]!r}",
            serial=serial,
            command=f"sha256sum {remote}",
            output=stdout,
            hint="the device needs toybox sha256sum (Android 6+)",
        )
    return digest


# -- small socket helpers (the adb server's smart-socket framing) -------------
def _service(name: str) -> bytes:
    data = name.encode("utf-8")
    return f"{len(data):04x}".encode() + data


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise sync.SyncTimeout("deadline passed")
    sock.settimeout(remaining)
    sock.sendall(data)


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    return sync._recv_exact(sock, n, deadline)


def _expect_okay(sock: socket.socket, deadline: float) -> None:
    status = _recv_exact(sock, 4, deadline)
    if status == b"OKAY":
        return
    if status == b"FAIL":
        length = int(_recv_exact(sock, 4, deadline), 16)
        raise AdbError(_decode(_recv_exact(sock, length, deadline)))
    raise AdbError(f"unexpected reply {status!r}")


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _close(conn: AdbConnection) -> None:
    """Close without adbutils' 10 ms linger (it costs ~a third of a round trip)."""
    with contextlib.suppress(AdbError, OSError):
        conn.conn.close()


def default_adb_server() -> tuple[str, int]:
    """HOST, PORT from ANDROID_ADB_SERVER_HOST/PORT, else adb's 127.0.0.1:5037."""
    host = os.environ.get("ANDROID_ADB_SERVER_HOST") or "127.0.0.1"
    port = int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)
    return host, port
