"""Fixtures for integration tests: real adb servers and simulated phones.

`adb_server` (session, parametrized): an adb server the tests run against,
started on a free port with emulator scanning, mDNS and USB off so it sees only
what the tests connect; `ANDROID_ADB_SERVER_PORT` is exported so adbutils and
the adb CLI both use it. The servers:

- `bundled`: the adb inside the adbutils wheel (recent platform-tools), always;
- `debian`: Debian's `adb` package (`/usr/bin/adb`, 29.x; installed by
  scripts/setup-system.sh; `HARNESS_TEST_DEBIAN_ADB` names another path), when
  installed. With `CI=true` a missing one is a failure, not a skip: CI must
  test both.

A test marked `adb_protocol` (what the adb server itself takes part in: the
sim's adb protocol, shell v2 and exit-marker paths, sync push and pull,
connect and disconnect, auth, device listing, selection and states,
hang-ups) runs once per server. Every other test that uses `adb_server`
(directly or through `sim` / `make_sim`) runs once, against the first server
(`bundled`): what it proves does not depend on which server carries the bytes.
The binary is chosen by path, never by whichever `adb` comes first on PATH.
`HARNESS_TEST_ADB_SERVERS=bundled` (or `debian`) narrows the set for a quick
local run. `sim`: a running Pixel-1 `SimDevice` already `adb connect`ed.
`make_sim(**kwargs)`: more devices, with custom topology / props / faults.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import adbutils
import pytest

from harness.sim import SimDevice

BUNDLED, DEBIAN = "bundled", "debian"
# Where Debian's package puts it; overridable for a checkout elsewhere (and for
# the test that proves CI fails without it).
DEBIAN_ADB = Path(os.environ.get("HARNESS_TEST_DEBIAN_ADB", "/usr/bin/adb"))
SERVERS_ENV = "HARNESS_TEST_ADB_SERVERS"
ADB_TIMEOUT_S = 30.0
ATTACH_TIMEOUT_S = 60.0  # a ceiling for a stuck attach, not a speed bound (workers share the CPUs)


@dataclass(frozen=True)
class AdbServer:
    """A running adb server: where it listens and how to call the CLI against it."""

    adb: str
    port: int
    env: dict[str, str]
    kind: str = BUNDLED

    @staticmethod
    def said(result: subprocess.CompletedProcess[str]) -> str:
        """What the adb CLI said: recent adb prints `adb: error: ...` on stderr, 29.x on stdout."""
        return result.stderr + result.stdout

    def run(
        self,
        *args: str,
        timeout_s: float = ADB_TIMEOUT_S,
        check: bool = False,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `adb -P PORT ARGS...` and return its result (text)."""
        return subprocess.run(
            [self.adb, "-P", str(self.port), *args],
            capture_output=True,
            text=True,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=timeout_s,
            env=self.env,
            check=check,
        )

    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=ADB_TIMEOUT_S)

    def connect(self, serial: str) -> None:
        """`adb connect` and wait until the server lists the device as `device`."""
        out = self.run("connect", serial).stdout
        if "connected" not in out:
            raise RuntimeError(f"adb connect {serial} failed: {out!r}")
        self.wait_state(serial, "device")

    def wait_state(self, serial: str, state: str, timeout_s: float = ATTACH_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            states = {d.serial: d.state for d in self.client().list(extended=True)}
            if states.get(serial) == state:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{serial} not in state {state!r} after {timeout_s} s: {states}")
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def server_kinds() -> list[str]:
    """The adb servers to test against (see the module docstring)."""
    chosen = os.environ.get(SERVERS_ENV, "")
    kinds = [k.strip() for k in chosen.split(",") if k.strip()]
    unknown = set(kinds) - {BUNDLED, DEBIAN}
    if unknown:
        raise pytest.UsageError(f"{SERVERS_ENV}: unknown {sorted(unknown)}; use bundled, debian")
    if kinds:
        return kinds
    return [BUNDLED, DEBIAN] if DEBIAN_ADB.exists() or _in_ci() else [BUNDLED]


def adb_binary(kind: str) -> str:
    """The adb executable of a server kind, by path (adbutils.adb_path() prefers PATH)."""
    if kind == BUNDLED:
        return str(resources.files("adbutils") / "binaries" / "adb")
    if not DEBIAN_ADB.exists():
        pytest.fail(
            f"Debian's adb ({DEBIAN_ADB}) is not installed, but the tests must run against it"
            f"{' (CI=true)' if _in_ci() else f' ({SERVERS_ENV})'}: run scripts/setup-system.sh"
        )
    return str(DEBIAN_ADB)


def _adb_key() -> Path:
    """The key every adb server of this user signs with (written by the first one started)."""
    return Path.home() / ".android" / "adbkey"


@contextlib.contextmanager
def _key_written_once() -> Iterator[None]:
    """While no adb key exists, one server at a time starts (a per-user lock).

    A server that finds no `~/.android/adbkey` writes a new key pair as it
    starts: test workers starting theirs at once would each write one, and a
    server could then sign with a key other than the `adbkey.pub` left on disk.
    """
    key = _adb_key()
    if key.is_file() and key.with_suffix(".pub").is_file():
        yield
        return
    lock = Path(tempfile.gettempdir()) / f"harness-tests-adbkey-{os.getuid()}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def launch_adb_server(
    adb: str, kind: str, log_path: Path, port: int | None = None
) -> tuple[AdbServer, subprocess.Popen[bytes]]:
    """Start `adb -P PORT server nodaemon` and wait until it answers (RuntimeError if not).

    The server logs every transport event to stderr: into a file, never an
    unread pipe (once a pipe's 64 KiB fill up, the server blocks mid-log and
    every adb command after that hangs).
    """
    port = port or _free_port()
    env = dict(
        os.environ, ADB_EMU="0", ADB_MDNS="0", ADB_USB="0", ANDROID_ADB_SERVER_PORT=str(port)
    )
    server = AdbServer(adb=adb, port=port, env=env, kind=kind)
    with _key_written_once():
        with log_path.open("ab") as log_file:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [adb, "-P", str(port), "server", "nodaemon"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                start_new_session=True,
            )
        _wait_answering(server, proc, log_path)
    return server, proc


def _wait_answering(server: AdbServer, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once the server answers; RuntimeError (the server killed) if it never does."""
    deadline = time.monotonic() + ADB_TIMEOUT_S
    while True:
        try:
            # The port first, with a plain socket: adbutils, finding nothing there,
            # would run `adb start-server` (the first adb on PATH, default port 5037)
            # and leave a stray server behind.
            socket.create_connection(("127.0.0.1", server.port), timeout=ADB_TIMEOUT_S).close()
            server.client().server_version()
            return
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = log_path.read_text(errors="replace")[-2000:]
                proc.kill()
                proc.wait()
                raise RuntimeError(
                    f"adb server did not start on port {server.port}: {err}"
                ) from None
            time.sleep(0.05)


def stop_adb_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server started by `launch_adb_server` (kill if it lingers)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every server for an `adb_protocol` test, the first one for any other (module docstring)."""
    if "adb_server" not in metafunc.fixturenames:
        return
    kinds = server_kinds()
    if metafunc.definition.get_closest_marker("adb_protocol") is None:
        kinds = kinds[:1]
    metafunc.parametrize("adb_server", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def adb_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AdbServer]:
    """An adb server of one kind (module docstring) on a free port, killed at the end."""
    kind = str(request.param)
    log_path = tmp_path_factory.mktemp(f"adb-server-{kind}") / "adb-server.log"
    server, proc = launch_adb_server(adb_binary(kind), kind, log_path)
    previous = os.environ.get("ANDROID_ADB_SERVER_PORT")
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
    yield server
    stop_adb_server(proc)
    if previous is None:
        os.environ.pop("ANDROID_ADB_SERVER_PORT", None)
    else:
        os.environ["ANDROID_ADB_SERVER_PORT"] = previous


@dataclass(frozen=True)
class AdbLauncher:
    """More adb servers for tests that need several (conftest is not importable as a module)."""

    def start(
        self, log_path: Path, port: int | None = None
    ) -> tuple[AdbServer, subprocess.Popen[bytes]]:
        """The bundled adb started again, with `-P`, on its own (or the given) port."""
        return launch_adb_server(adb_binary(BUNDLED), BUNDLED, log_path, port)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop a server this launcher started."""
        stop_adb_server(proc)


@pytest.fixture(scope="session")
def adb_launcher() -> AdbLauncher:
    """Start extra adb servers (a lab's second host) with the same launcher as `adb_server`."""
    return AdbLauncher()


@pytest.fixture
def make_sim(adb_server: AdbServer) -> Iterator[Callable[..., SimDevice]]:
    """Factory: `make_sim(topology=..., props=..., faults=..., connect=True)` -> SimDevice."""
    started: list[SimDevice] = []

    def factory(*, connect: bool = True, **kwargs: Any) -> SimDevice:
        device = SimDevice.start(**kwargs)
        started.append(device)
        if connect:
            adb_server.connect(device.serial)
        return device

    yield factory
    for device in started:
        # Stop the device first: its sockets close, so the server drops the
        # transport at once and `disconnect` has nothing left to wait for (the
        # other order could block the server while it talked to a busy device).
        device.stop()
        adb_server.run("disconnect", device.serial)


@pytest.fixture
def sim(make_sim: Callable[..., SimDevice]) -> SimDevice:
    """A started Pixel-1 SimDevice, already `adb connect`ed to the test adb server."""
    return make_sim()
