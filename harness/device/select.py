"""Resolve `--device` selections to sessions on attached devices.

A selection is a serial, `HOST:PORT` (adb connect first), a case-insensitive
model / product / device name (`pixel` matches model `Pixel`), an alias from
the project settings, or `all`. The adb server is local by default (adbutils
starts its bundled adb when none runs) or remote with `--adb-server
HOST:PORT` / `ANDROID_ADB_SERVER_HOST/PORT`, which is how a lab drives phones
hanging off other hosts.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from harness.config import HarnessConfig, load_config
from harness.device.adb import AdbClient, AdbError, env_server, port_number
from harness.device.kv import digits
from harness.device.session import (
    OFFLINE_HINT,
    UNAUTHORIZED_HINT,
    DeviceSession,
    map_adb_error,
)
from harness.errors import (
    AmbiguousDeviceError,
    ConfigError,
    DeviceError,
    DeviceNotFoundError,
    DeviceOfflineError,
    DeviceUnauthorizedError,
    OptionError,
)

log = logging.getLogger(__name__)

SERVER_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 15.0
# After `adb connect` a TCP device shows `offline` until its CNXN arrives.
ATTACH_WAIT_S = 10.0
ATTACH_POLL_S = 0.1
# While waiting for a TCP device, ask the server to connect again this often.
RECONNECT_EVERY_S = 2.0
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$")


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


def selection_tokens(selection: Sequence[str]) -> list[str]:
    """The tokens of a --device selection (repeated, or comma lists); OptionError if none.

    `--device ''` (or `,`) names no phone: it is refused, never read as "the
    one attached phone", since `clean` wipes what it is given.
    """
    tokens = [t.strip() for item in selection for t in item.split(",") if t.strip()]
    if not tokens:
        raise OptionError(
            "--device selects nothing",
            option="--device",
            hint="name a serial, HOST:PORT, a model name, an alias or all",
        )
    return tokens


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


def _norm(name: str) -> str:
    # `adb devices -l` turns spaces in a model into underscores ("Pixel_2").
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def adb_connect(client: AdbClient, address: str, *, wait_s: float = ATTACH_WAIT_S) -> None:
    """`adb connect HOST:PORT`, then wait until the device is usable.

    adbutils returns the server's text without raising ("failed to connect
    ..."): read it. The device then shows `offline` until its handshake lands.
    A phone that is not listening yet (rebooting, back in a few seconds) is
    asked again until `wait_s` has passed.
    """
    deadline = time.monotonic() + wait_s
    state = "absent"
    asked = 0.0
    answer = ""
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
        time.sleep(ATTACH_POLL_S)
    if state != "device":
        _raise_state(address, state)


def wait_usable(client: AdbClient, attached: Attached, *, wait_s: float) -> None:
    """Wait for an `offline` device to come back (reconnecting a HOST:PORT one)."""
    if _HOST_PORT.match(attached.serial):
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
        _raise_state(attached.serial, state)


def _raise_state(serial: str, state: str) -> None:
    if state == "unauthorized":
        raise DeviceUnauthorizedError(
            "device is unauthorized", serial=serial, hint=UNAUTHORIZED_HINT
        )
    raise DeviceOfflineError(f"device is {state}", serial=serial, hint=OFFLINE_HINT)


def _listing(attached: Sequence[Attached]) -> str:
    if not attached:
        return "no devices attached"
    return "attached: " + "; ".join(a.describe() for a in attached)


def _advice(attached: Sequence[Attached]) -> str | None:
    tips = []
    if any(a.state == "unauthorized" for a in attached):
        tips.append(f"unauthorized: {UNAUTHORIZED_HINT}")
    if any(a.state == "offline" for a in attached):
        tips.append("offline: replug the cable, or `adb disconnect` and `adb connect` again")
    if not attached:
        tips.append("plug a phone in with USB debugging on, or pass --device HOST:PORT")
    if not any(a.state == "device" for a in attached):
        # No usable phone at all: the simulated one shows what the harness does first.
        tips.append("no phone at hand? try `--device sim` (a simulated Pixel 1) first")
    return "; ".join(tips) or None


def _resolve(
    token: str,
    attached: list[Attached],
    client: AdbClient,
    config: HarnessConfig,
    seen_alias: frozenset[str] = frozenset(),
    *,
    wait_s: float = ATTACH_WAIT_S,
) -> list[Attached]:
    """The attached devices one selection token names (may raise)."""
    if token.lower() == "all":
        usable = [a for a in attached if a.state == "device"]
        if not usable:
            raise DeviceNotFoundError(
                f"--device all: no usable device ({_listing(attached)})", hint=_advice(attached)
            )
        skipped = [a for a in attached if a.state != "device"]
        if skipped:  # say so: a lab run must not quietly lose a phone
            log.warning(
                "--device all skips %s (%s)",
                "; ".join(a.describe() for a in skipped),
                _advice(skipped),
            )
        return usable
    if token.lower() == "sim":
        raise ConfigError("--device sim is handled by the harness command line, not here")
    target = config.resolve_alias(token)
    if target is not None and token.lower() not in seen_alias:
        return _resolve(
            target, attached, client, config, seen_alias | {token.lower()}, wait_s=wait_s
        )
    exact = [a for a in attached if a.serial == token]
    address = _HOST_PORT.match(token)
    if not exact and address:
        port_number(address.group(2), f"--device {token}")
        adb_connect(client, token, wait_s=wait_s)
        attached[:] = list_attached(client)
        exact = [a for a in attached if a.serial == token]
    if exact:
        return exact
    wanted = _norm(token)
    named = [
        a
        for a in attached
        if any(v is not None and _norm(v) == wanted for v in (a.model, a.product, a.device))
    ]
    if len(named) > 1:
        raise AmbiguousDeviceError(
            f"--device {token!r} matches {len(named)} devices: "
            + "; ".join(a.describe() for a in named),
            hint="pick one by serial, or use --device all",
        )
    if named:
        return named
    raise DeviceNotFoundError(
        f"no device matches {token!r} ({_listing(attached)})", hint=_advice(attached)
    )


def connect(
    selection: list[str],
    *,
    adb_server: str | None = None,
    config: HarnessConfig | None = None,
    wait_s: float = ATTACH_WAIT_S,
) -> list[DeviceSession]:
    """Sessions for every device the selection names (each once, in selection order).

    Several tokens may be given (or comma-separated); a selection that names
    nothing is refused (there is no default device: docs/device.md).
    A device the server lists `offline` is waited for up to `wait_s` (a
    HOST:PORT one is connected again meanwhile); `unauthorized` fails at once.
    """
    cfg = config if config is not None else load_config()
    tokens = selection_tokens(selection)
    server = adb_server or cfg.defaults.adb_server
    client = make_client(server)
    attached = list_attached(client)
    chosen: dict[str, Attached] = {}
    for token in tokens:
        for a in _resolve(token, attached, client, cfg, wait_s=wait_s):
            chosen.setdefault(a.serial, a)
    sessions = []
    for a in chosen.values():
        if a.state == "offline":
            log.info("%s is offline; waiting up to %g s for it", a.serial, wait_s)
            wait_usable(client, a, wait_s=wait_s)
        elif a.state != "device":
            _raise_state(a.serial, a.state)
        sessions.append(DeviceSession(client, a.serial))
    log.debug("selected %s via %s:%s", [s.serial for s in sessions], client.host, client.port)
    return sessions


__all__ = ["Attached", "adb_connect", "connect", "list_attached", "make_client", "parse_server"]
