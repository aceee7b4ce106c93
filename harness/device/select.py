"""The one resolver: which attached devices a `--device` selection names, on any adb servers.

A selection token is a serial, `SERIAL@HOST:PORT` (that serial on that
server), `HOST:PORT` (adb connect first), a case-insensitive model / product
/ device name (`pixel` matches model `Pixel`), an alias from the project
settings, or `all`. Every token is looked up on every adb server the command
uses (`harness.device.servers`); a serial seen on two servers is ambiguous
and must be written `SERIAL@HOST:PORT`. `pool:NAME[*N]` tokens are handed
back unresolved to the leasing step (`harness.device.pools`), and tokens that
start a device (`sim`: `harness.device.sources`) are started by
`harness.device.lab.open_lab` and reach this resolver as `HOST:PORT`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.config import HarnessConfig, load_config
from harness.device.adb import port_number
from harness.device.servers import (
    ATTACH_WAIT_S,
    HOST_PORT,
    Attached,
    Server,
    adb_connect,
    list_attached,
    open_servers,
    raise_state,
    server_key,
    server_specs,
    wait_usable,
)
from harness.device.session import UNAUTHORIZED_HINT, DeviceSession
from harness.device.sources import is_source
from harness.errors import (
    AmbiguousDeviceError,
    ConfigError,
    DeviceError,
    DeviceNotFoundError,
    OptionError,
    PlanError,
)
from harness.selection import split_list

log = logging.getLogger(__name__)

POOL_PREFIX = "pool:"

Found = tuple[Server, Attached]


def selection_tokens(selection: Sequence[str]) -> list[str]:
    """The tokens of a --device selection (repeated, or comma lists); OptionError if none.

    `--device ''` (or `,`) names no phone: it is refused, never read as "the
    one attached phone", since `clean` wipes what it is given.
    """
    tokens = split_list(selection)
    if not tokens:
        raise OptionError(
            "--device selects nothing",
            option="--device",
            hint="name a serial, HOST:PORT, a model name, an alias or all",
        )
    return tokens


def split_at(token: str) -> tuple[str, str | None]:
    """`SERIAL@HOST:PORT` -> (SERIAL, HOST:PORT); a plain token -> (token, None)."""
    serial, at, server = token.rpartition("@")
    if not at or not serial:
        return token, None
    return serial, server_key(server)


def norm(name: str) -> str:
    """A device name as `adb devices -l` writes it: spaces become underscores ("Pixel_2")."""
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def named(attached: Attached, name: str) -> bool:
    """Whether `name` is the device's model, product or device name (case-insensitive)."""
    names = (attached.model, attached.product, attached.device)
    return any(v is not None and norm(v) == norm(name) for v in names)


def _where(servers: Sequence[Server], server: Server, attached: Attached) -> str:
    return attached.describe() if len(servers) == 1 else f"{attached.serial}@{server.spec}"


def _listing(servers: Sequence[Server]) -> str:
    """What the servers have attached, for an error message."""
    if len(servers) == 1 and servers[0].failure is None:
        attached = servers[0].attached
        if not attached:
            return "no devices attached"
        return "attached: " + "; ".join(a.describe() for a in attached)
    parts = []
    for s in servers:
        if s.failure is not None:
            parts.append(f"{s.spec}: unreachable")
        else:
            names = ", ".join(a.describe() for a in s.attached) or "no devices"
            parts.append(f"{s.spec}: {names}")
    return "; ".join(parts)


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


def resolve(
    token: str,
    servers: list[Server],
    config: HarnessConfig,
    *,
    wait_s: float,
    seen: frozenset[str] = frozenset(),
) -> list[Found]:
    """The (server, device) pairs one selection token names across the servers (may raise)."""
    live = [s for s in servers if s.client is not None]
    everything = [a for s in live for a in s.attached]
    low = token.lower()
    if low == "all":
        usable = [(s, a) for s in live for a in s.attached if a.state == "device"]
        if not usable:
            raise DeviceNotFoundError(
                f"--device all: no usable device ({_listing(servers)})", hint=_advice(everything)
            )
        skipped = [(s, a) for s in live for a in s.attached if a.state != "device"]
        if skipped:  # say so: a lab run must not quietly lose a phone
            log.warning(
                "--device all skips %s (%s)",
                "; ".join(_where(servers, s, a) for s, a in skipped),
                _advice([a for _s, a in skipped]),
            )
        return usable
    target = config.resolve_alias(token)
    if target is not None and low not in seen:
        return resolve(target, servers, config, wait_s=wait_s, seen=seen | {low})
    if is_source(token):
        raise ConfigError(
            f"--device {token} starts a device: open it with harness.device.lab.open_lab "
            "(as `harness run`, `devices` and `clean` do)"
        )
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
    address = HOST_PORT.match(serial)
    if address and live:
        port_number(address.group(2), f"--device {token}")
        first = live[0]
        assert first.client is not None
        adb_connect(first.client, serial, wait_s=wait_s)
        first.attached = list_attached(first.client)
        return [(first, a) for a in first.attached if a.serial == serial]
    matches = [(s, a) for s in live for a in s.attached if named(a, serial)]
    if len(matches) > 1:
        raise AmbiguousDeviceError(
            f"--device {token!r} matches {len(matches)} devices: "
            + "; ".join(_where(servers, s, a) for s, a in matches),
            hint="pick one by serial (SERIAL@HOST:PORT in a lab), use --device all, "
            "or pool:NAME for any free one",
        )
    if matches:
        return matches
    raise DeviceNotFoundError(
        f"no device matches {token!r} ({_listing(servers)})", hint=_advice(everything)
    )


def session_for(server: Server, attached: Attached, *, wait_s: float) -> DeviceSession:
    """A session on a resolved device, waiting up to `wait_s` for an `offline` one."""
    assert server.client is not None
    if attached.state == "offline":
        log.info("%s is offline; waiting up to %g s for it", attached.serial, wait_s)
        wait_usable(server.client, attached, wait_s=wait_s)
    elif attached.state != "device":
        raise_state(attached.serial, attached.state)
    return DeviceSession(server.client, attached.serial)


@dataclass
class Selection:
    """Resolved phones, plus the pool requests the leasing step fills."""

    sessions: list[DeviceSession]
    pools: list[str]
    servers: list[Server]


def connect_all(
    selection: Sequence[str],
    *,
    adb_servers: Sequence[str] | str | None = None,
    config: HarnessConfig | None = None,
    wait_s: float = ATTACH_WAIT_S,
) -> Selection:
    """Sessions for every phone the selection names across every server (each once, in
    selection order), and its pool requests.

    A selection that names nothing is refused (there is no default device:
    docs/device.md). A device a server lists `offline` is waited for up to
    `wait_s` (a HOST:PORT one is connected again meanwhile); `unauthorized`
    fails at once.
    """
    cfg = config if config is not None else load_config()
    tokens = selection_tokens(selection)
    specs = server_specs(adb_servers, cfg)
    pools = [t for t in tokens if t.lower().startswith(POOL_PREFIX)]
    plain = [t for t in tokens if not t.lower().startswith(POOL_PREFIX)]
    servers = open_servers(specs)
    if all(s.failure is not None for s in servers):
        if len(servers) == 1 and servers[0].failure is not None:
            raise servers[0].failure
        raise DeviceError(
            "no adb server could be reached: " + "; ".join(f"{s.spec}: {s.error}" for s in servers)
        )
    chosen: dict[tuple[str, str], Found] = {}
    for token in plain:
        for s, a in resolve(token, servers, cfg, wait_s=wait_s):
            chosen.setdefault((s.spec, a.serial), (s, a))
    refuse_twins([a.serial for _s, a in chosen.values()])
    sessions = [session_for(s, a, wait_s=wait_s) for s, a in chosen.values()]
    log.debug("selected %s via %s", [s.serial for s in sessions], [s.spec for s in servers])
    return Selection(sessions, pools, servers)


def connect(
    selection: Sequence[str],
    *,
    adb_server: Sequence[str] | str | None = None,
    config: HarnessConfig | None = None,
    wait_s: float = ATTACH_WAIT_S,
) -> list[DeviceSession]:
    """`connect_all`'s sessions, for a selection without pools (a pool is leased:
    `harness.device.lab.open_lab` takes its phones)."""
    chosen = connect_all(selection, adb_servers=adb_server, config=config, wait_s=wait_s)
    if chosen.pools:
        raise PlanError(
            f"--device {chosen.pools[0]}: pools are for `harness run`, "
            "which leases the phone it picks"
        )
    return chosen.sessions


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
    "connect",
    "connect_all",
    "refuse_twins",
    "resolve",
    "selection_tokens",
    "session_for",
    "split_at",
]
