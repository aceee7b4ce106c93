"""`--device` selections resolved across several adb servers (a device lab).

Each lab host runs its own adb server; `--adb-server` (repeatable, or
`[defaults] adb_servers`) names them. A serial is looked up on every server;
one seen on two is ambiguous and must be written `SERIAL@HOST:PORT`, which is
accepted wherever a serial is. A server that cannot be reached is reported,
and the others still serve. `pool:NAME[*N]` tokens are handed back unresolved
to the leasing step (harness.device.pools), which picks free phones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.config import HarnessConfig, load_config
from harness.device import select
from harness.device.adb import AdbClient
from harness.device.select import Attached, adb_connect, list_attached, make_client, parse_server
from harness.device.session import DeviceSession
from harness.errors import (
    AmbiguousDeviceError,
    ConfigError,
    DeviceError,
    DeviceNotFoundError,
    PlanError,
)

log = logging.getLogger(__name__)

POOL_PREFIX = "pool:"


@dataclass
class Server:
    """One adb server of the lab: reachable (client, attached) or not (error)."""

    spec: str  # HOST:PORT
    client: AdbClient | None = None
    attached: list[Attached] = field(default_factory=list)
    error: str | None = None


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
        host, port = parse_server(spec)
        unique.setdefault(f"{host}:{port}", spec)
    return list(unique.values())


def _key(spec: str | None) -> str:
    host, port = parse_server(spec)
    return f"{host}:{port}"


def open_servers(specs: Sequence[str | None]) -> list[Server]:
    """Reach every server; an unreachable one is kept with its error, not raised."""
    out = []
    for spec in specs:
        server = Server(_key(spec))
        try:
            server.client = make_client(spec)
            server.attached = list_attached(server.client)
        except DeviceError as exc:
            server.error = str(exc)
            log.warning("adb server %s: %s", server.spec, exc)
        out.append(server)
    return out


def _describe(servers: Sequence[Server]) -> str:
    parts = []
    for s in servers:
        if s.error:
            parts.append(f"{s.spec}: unreachable")
        else:
            names = ", ".join(a.describe() for a in s.attached) or "no devices"
            parts.append(f"{s.spec}: {names}")
    return "; ".join(parts)


Found = tuple[Server, Attached]


def split_at(token: str) -> tuple[str, str | None]:
    """`SERIAL@HOST:PORT` -> (SERIAL, HOST:PORT); a plain token -> (token, None)."""
    serial, at, server = token.rpartition("@")
    if not at or not serial:
        return token, None
    return serial, _key(server)


def resolve(
    token: str,
    servers: list[Server],
    config: HarnessConfig,
    *,
    wait_s: float,
    seen: frozenset[str] = frozenset(),
) -> list[Found]:
    """The (server, device) pairs one selection token names across the servers."""
    live = [s for s in servers if s.client is not None]
    low = token.lower()
    if low == "all":
        usable = [(s, a) for s in live for a in s.attached if a.state == "device"]
        if not usable:
            raise DeviceNotFoundError(f"--device all: no usable device ({_describe(servers)})")
        return usable
    target = config.resolve_alias(token)
    if target is not None and low not in seen:
        return resolve(target, servers, config, wait_s=wait_s, seen=seen | {low})
    serial, at = split_at(token)
    if at is not None:
        live = [s for s in live if s.spec == at]
        if not live:
            raise ConfigError(
                f"--device {token!r}: {at} is not a reachable --adb-server",
                hint=f"add --adb-server {at}",
            )
    exact = [(s, a) for s in live for a in s.attached if a.serial == serial]
    if len(exact) > 1:
        raise AmbiguousDeviceError(
            f"--device {serial!r} is attached to {len(exact)} adb servers: "
            + ", ".join(s.spec for s, _a in exact),
            hint="name one as " + " or ".join(f"{serial}@{s.spec}" for s, _a in exact),
        )
    if exact:
        return exact
    if select._HOST_PORT.match(serial) and live:
        first = live[0]
        assert first.client is not None
        adb_connect(first.client, serial, wait_s=wait_s)
        first.attached = list_attached(first.client)
        return [(first, a) for a in first.attached if a.serial == serial]
    wanted = select._norm(serial)
    named = [
        (s, a)
        for s in live
        for a in s.attached
        if any(v is not None and select._norm(v) == wanted for v in (a.model, a.product, a.device))
    ]
    if len(named) > 1:
        raise AmbiguousDeviceError(
            f"--device {token!r} matches {len(named)} devices: "
            + "; ".join(f"{a.serial}@{s.spec}" for s, a in named),
            hint="pick one by SERIAL@HOST:PORT, use --device all, or pool:NAME for any free one",
        )
    if named:
        return named
    raise DeviceNotFoundError(f"no device matches {token!r} ({_describe(servers)})")


def session_for(server: Server, attached: Attached, *, wait_s: float) -> DeviceSession:
    """A session on a resolved device, waiting for an `offline` one as select.connect does."""
    assert server.client is not None
    if attached.state == "offline":
        select.wait_usable(server.client, attached, wait_s=wait_s)
    elif attached.state != "device":
        select._raise_state(attached.serial, attached.state)
    return DeviceSession(server.client, attached.serial)


@dataclass
class Selection:
    """Resolved phones, plus the pool requests the leasing step fills."""

    sessions: list[DeviceSession]
    pools: list[str]
    servers: list[Server]


def connect_all(
    selection: list[str],
    *,
    adb_servers: Sequence[str] | str | None = None,
    config: HarnessConfig | None = None,
    wait_s: float = select.ATTACH_WAIT_S,
) -> Selection:
    """Sessions for every phone the selection names across every server (each once)."""
    cfg = config if config is not None else load_config()
    specs = server_specs(adb_servers, cfg)
    tokens = select.selection_tokens(selection)
    pools = [t for t in tokens if t.lower().startswith(POOL_PREFIX)]
    plain = [t for t in tokens if not t.lower().startswith(POOL_PREFIX)]
    if len(specs) == 1 and not any("@" in t for t in plain):
        # One server: exactly the single-server behaviour of select.connect.
        sessions = (
            select.connect(plain, adb_server=specs[0], config=cfg, wait_s=wait_s)
            if plain or not pools
            else []
        )
        return Selection(sessions, pools, open_servers(specs) if pools else [])
    servers = open_servers(specs)
    if all(s.error for s in servers):
        raise DeviceError(
            "no adb server could be reached: " + "; ".join(f"{s.spec}: {s.error}" for s in servers)
        )
    chosen: dict[tuple[str, str], Found] = {}
    for token in plain:
        for s, a in resolve(token, servers, cfg, wait_s=wait_s):
            chosen.setdefault((s.spec, a.serial), (s, a))
    refuse_twins([a.serial for _s, a in chosen.values()])
    sessions = [session_for(s, a, wait_s=wait_s) for s, a in chosen.values()]
    return Selection(sessions, pools, servers)


def refuse_twins(serials: Sequence[str]) -> None:
    """Two phones with one serial (on two servers) cannot share a run: trial ids are per serial."""
    twins = sorted({s for s in serials if list(serials).count(s) > 1})
    if twins:
        raise PlanError(
            f"serial(s) {', '.join(twins)} selected on two adb servers in one run",
            hint="measure them in separate runs (trial ids are per serial)",
        )


__all__ = [
    "POOL_PREFIX",
    "Selection",
    "Server",
    "connect_all",
    "open_servers",
    "resolve",
    "server_specs",
    "split_at",
]
