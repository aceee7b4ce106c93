"""adb servers: reach one or several, list what each has attached, `adb connect`, wait.

The adb server is local by default (adbutils starts its bundled adb when none
runs) or remote with `--adb-server HOST:PORT` / `ANDROID_ADB_SERVER_HOST/PORT`,
which is how a lab drives phones hanging off other hosts; a lab names several
(`--adb-server` repeated, or `[defaults] adb_servers`). A server that cannot
be reached is kept with its error, so the others still serve. Which device a
`--device` selection names is decided in `harness.device.select`.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.config import HarnessConfig
from harness.device.adb import AdbClient, AdbError, env_server, port_number
from harness.device.kv import digits
from harness.device.session import OFFLINE_HINT, UNAUTHORIZED_HINT, map_adb_error
from harness.errors import (
    ConfigError,
    DeviceError,
    DeviceNotFoundError,
    DeviceOfflineError,
    DeviceUnauthorizedError,
)

log = logging.getLogger(__name__)

SERVER_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 15.0
# After `adb connect` a TCP device shows `offline` until its CNXN arrives.
ATTACH_WAIT_S = 10.0
ATTACH_POLL_S = 0.1
# While waiting for a TCP device, ask the server to connect again this often.
RECONNECT_EVERY_S = 2.0
HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$")


@dataclass(frozen=True)
class Attached:
    """One line of `adb devices -l`: serial, state, and its model/product/device tags."""

    serial: str
    state: str
    model: str | None = None
    product: str | None = None
    device: str | None = None

    def describe(self) -> str:
        names = " ".join(
            f"{k}:{v}"
            for k, v in (("model", self.model), ("product", self.product), ("device", self.device))
            if v
        )
        return f"{self.serial} ({self.state}{', ' + names if names else ''})"


def parse_server(spec: str | None) -> tuple[str, int]:
    """`HOST:PORT` or `PORT` of an adb server; None: ANDROID_ADB_SERVER_HOST/PORT's.

    An empty spec names no server (refused, never read as the default one).
    """
    if spec is None:
        return env_server()
    host, _, port = spec.rpartition(":")
    if not spec.strip() or not digits(port.strip()):
        raise ConfigError(f"--adb-server {spec!r} is not HOST:PORT", hint="e.g. lab-host:5037")
    return (host.strip("[]") or "127.0.0.1"), port_number(port, f"--adb-server {spec!r}")


def server_key(spec: str | None) -> str:
    """`HOST:PORT` of a server as the lab names it (`SERIAL@HOST:PORT`)."""
    host, port = parse_server(spec)
    return f"{host}:{port}"


def make_client(adb_server: str | None = None) -> AdbClient:
    """A client for the chosen adb server, checked reachable.

    For the local server adbutils starts its bundled adb when none runs; a
    remote one is never started, so an unreachable host is a clear error.
    """
    host, port = parse_server(adb_server)
    local = host in ("127.0.0.1", "localhost", "::1")
    if not local:
        try:
            socket.create_connection((host, port), timeout=SERVER_TIMEOUT_S).close()
        except OSError as exc:
            raise DeviceError(
                f"cannot reach the adb server at {host}:{port}: {exc}",
                hint="on that host run `adb -a nodaemon server` (or `adb -a start-server`)",
            ) from exc
    client = AdbClient(host=host, port=port, socket_timeout=SERVER_TIMEOUT_S)
    try:
        client.server_version()
    except (AdbError, OSError) as exc:
        raise DeviceError(f"adb server at {host}:{port} does not answer: {exc}") from exc
    return client


def list_attached(client: AdbClient) -> list[Attached]:
    """Every device the server knows, with its state (`device`, `offline`, `unauthorized`)."""
    try:
        infos = client.list(extended=True)
    except (AdbError, OSError) as exc:
        raise map_adb_error(exc, serial=None, command="devices -l") from exc
    return [
        Attached(
            i.serial, i.state, i.tags.get("model"), i.tags.get("product"), i.tags.get("device")
        )
        for i in infos
    ]


def adb_connect(client: AdbClient, address: str, *, wait_s: float = ATTACH_WAIT_S) -> None:
    """`adb connect HOST:PORT`, then wait until the device is usable.

    adbutils returns the server's text without raising ("failed to connect
    ..."): read it. The device then shows `offline` until its handshake lands.
    A phone that is not listening yet (rebooting, back in a few seconds) is
    asked again every RECONNECT_EVERY_S until `wait_s` has passed, with a
    warning at the first refusal; between two asks nothing changes, so the
    server is not polled.
    """
    deadline = time.monotonic() + wait_s
    state = "absent"
    asked = 0.0
    answer = ""
    warned = False
    while True:
        now = time.monotonic()
        if now - asked >= RECONNECT_EVERY_S or not asked:
            asked = now
            try:
                answer = client.connect(address, timeout=CONNECT_TIMEOUT_S)
            except (AdbError, OSError) as exc:
                answer = f"failed: {exc}"
            log.debug("adb connect %s: %s", address, answer.strip())
        state = next((a.state for a in list_attached(client) if a.serial == address), "absent")
        # "failed to authenticate to X": reached, but the phone has not trusted this host's
        # key; the server keeps it as `unauthorized`, which the state check below reports.
        if state in ("device", "unauthorized"):
            break
        if time.monotonic() >= deadline:
            if state == "absent":
                raise DeviceNotFoundError(
                    f"adb connect {address}: {answer.strip()}",
                    hint="is the device listening (adb tcpip 5555) and reachable from the "
                    "adb server host?",
                )
            break
        if state == "absent" and answer.lstrip().startswith(("failed", "cannot")):
            if not warned:
                warned = True
                log.warning(
                    "adb connect %s: %s; asking again every %g s for up to %g s",
                    address, answer.strip(), RECONNECT_EVERY_S, wait_s,
                )  # fmt: skip
            time.sleep(max(0.0, min(asked + RECONNECT_EVERY_S, deadline) - time.monotonic()))
            continue
        time.sleep(ATTACH_POLL_S)
    if state != "device":
        raise_state(address, state)


def disconnect(adb_server: str | None, address: str) -> None:
    """Tell the server to forget a device that is gone for good (best effort)."""
    try:
        make_client(adb_server).disconnect(address)
    except Exception as exc:  # cleanup must not hide the command's own outcome
        log.debug("adb disconnect %s: %s", address, exc)


def wait_usable(client: AdbClient, attached: Attached, *, wait_s: float) -> None:
    """Wait for an `offline` device to come back (reconnecting a HOST:PORT one)."""
    if HOST_PORT.match(attached.serial):
        adb_connect(client, attached.serial, wait_s=wait_s)
        return
    deadline = time.monotonic() + wait_s
    state = attached.state
    while state == "offline" and time.monotonic() < deadline:
        time.sleep(ATTACH_POLL_S * 5)
        state = next(
            (a.state for a in list_attached(client) if a.serial == attached.serial), "absent"
        )
    if state != "device":
        raise_state(attached.serial, state)


def raise_state(serial: str, state: str) -> None:
    """The error for a device that is there but not usable (unauthorized, offline, gone)."""
    if state == "unauthorized":
        raise DeviceUnauthorizedError(
            "device is unauthorized", serial=serial, hint=UNAUTHORIZED_HINT
        )
    raise DeviceOfflineError(f"device is {state}", serial=serial, hint=OFFLINE_HINT)


@dataclass
class Server:
    """One adb server of the lab: reachable (client, attached) or not (failure)."""

    spec: str  # HOST:PORT
    client: AdbClient | None = None
    attached: list[Attached] = field(default_factory=list)
    failure: DeviceError | None = None

    @property
    def error(self) -> str | None:
        """Why it could not be reached, or None."""
        return None if self.failure is None else str(self.failure)


def server_specs(given: Sequence[str] | str | None, config: HarnessConfig) -> list[str | None]:
    """The servers to use: the command line's, else the settings', else the default one."""
    if isinstance(given, str):
        given = [given]
    specs = list(given or [])
    for spec in specs:
        parse_server(spec)  # an empty or malformed one is refused, never read as the default
    if not specs:
        listed, single = config.defaults.adb_servers, config.defaults.adb_server
        specs = list(listed) if listed else [single] if single is not None else []
    if not specs:
        return [None]
    unique: dict[str, str] = {}
    for spec in specs:
        unique.setdefault(server_key(spec), spec)
    return list(unique.values())


def open_servers(specs: Sequence[str | None]) -> list[Server]:
    """Reach every server; an unreachable one is kept with its error, not raised."""
    out = []
    for spec in specs:
        server = Server(server_key(spec))
        try:
            server.client = make_client(spec)
            server.attached = list_attached(server.client)
        except DeviceError as exc:
            server.failure = exc
            if len(specs) > 1:  # one lab host down: said, and the others still serve
                log.warning("adb server %s: %s", server.spec, exc)
        out.append(server)
    return out


__all__ = [
    "ATTACH_WAIT_S",
    "HOST_PORT",
    "Attached",
    "Server",
    "adb_connect",
    "disconnect",
    "list_attached",
    "make_client",
    "open_servers",
    "parse_server",
    "raise_state",
    "server_key",
    "server_specs",
    "wait_usable",
]
