"""`--device pool:NAME[*N]`: any N free phones of a pool ("any free Pixel 4").

NAME is a `[pools]` entry of harness.toml (a list of selections, usually
serials or `SERIAL@HOST:PORT`) or else a model/product/device name matched on
every server. Phones are tried in order; a leased one is skipped, a stale
lease is broken (harness.device.lease), and with `--wait-for-device` the run
waits until enough phones free up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.config import HarnessConfig
from harness.device.kv import digits
from harness.device.lease import Holder, Lease, Owner, acquire, pause, release_all
from harness.device.select import POOL_PREFIX, named, resolve, session_for
from harness.device.servers import Server
from harness.device.session import DeviceSession
from harness.errors import DeviceBusyError, DeviceError, DeviceNotFoundError, PlanError


@dataclass(frozen=True)
class PoolRequest:
    """`pool:NAME*N` parsed."""

    name: str
    count: int

    @staticmethod
    def parse(token: str) -> PoolRequest:
        body = token[len(POOL_PREFIX) :]
        name, star, count = body.partition("*")
        if not name.strip() or (star and not digits(count.strip())) or (star and int(count) < 1):
            raise PlanError(f"--device {token!r}: write pool:NAME or pool:NAME*N (N >= 1)")
        return PoolRequest(name.strip(), int(count) if star else 1)


def candidates(
    request: PoolRequest, servers: list[Server], config: HarnessConfig, *, wait_s: float
) -> list[DeviceSession]:
    """The pool's usable phones, in the pool's order (the settings' list, else name order)."""
    entries = next((v for k, v in config.pools.items() if k.lower() == request.name.lower()), None)
    found = []
    if entries is None:
        found = [
            (s, a)
            for s in servers
            if s.client is not None
            for a in s.attached
            if a.state == "device" and named(a, request.name)
        ]
    else:
        for entry in entries:
            try:
                found += resolve(entry, servers, config, wait_s=0.0)
            except DeviceError:
                continue  # a pool phone that is unplugged is simply not a candidate
    sessions = []
    for s, a in found:
        try:
            sessions.append(session_for(s, a, wait_s=min(wait_s, 1.0)))
        except DeviceError:
            continue
    if not sessions:
        raise DeviceNotFoundError(
            f"pool {request.name!r} has no usable phone",
            hint="list pools under [pools] in harness.toml, or name a model",
        )
    return sessions


def take(
    request: PoolRequest,
    pool: Sequence[DeviceSession],
    owner: Owner,
    *,
    wait_s: float | None,
    emit: Callable[[str], None],
    exclude: set[str],
    fresh: Callable[[DeviceSession], DeviceSession],
    reconnect_timeout_s: float | None = None,
) -> list[Lease]:
    """Lease `request.count` free phones of `pool`, skipping busy ones (and `exclude`)."""
    usable = [s for s in pool if f"{s.serial}@{s.adb_server}" not in exclude]
    if len(usable) < request.count:
        raise DeviceNotFoundError(
            f"pool {request.name!r} has {len(usable)} phone(s), {request.count} wanted"
        )
    held: list[Lease] = []
    deadline = None if wait_s is None else time.monotonic() + wait_s
    told = False
    try:
        while True:
            busy: list[tuple[DeviceSession, Holder]] = []
            for s in usable:
                if len(held) == request.count:
                    break
                if any(lease.session.serial == s.serial for lease in held):
                    continue
                holder = acquire(s, owner, emit=emit, reconnect_timeout_s=reconnect_timeout_s)
                if holder is None:
                    held.append(Lease(fresh(s), owner, s))
                else:
                    busy.append((s, holder))
            if len(held) == request.count:
                return held
            release_all(held)  # all or nothing, as lease.take_all (no deadlock)
            held = []
            if deadline is None or time.monotonic() >= deadline:
                raise DeviceBusyError(
                    f"pool {request.name!r}: {len(busy)} phone(s) busy: "
                    + "; ".join(f"{s.serial} leased by {h.describe()}" for s, h in busy),
                    hint="wait for one with --wait-for-device SECONDS",
                )
            if not told:
                told = True
                emit(
                    f"pool {request.name}: waiting for a free phone (busy: "
                    + "; ".join(f"{s.serial} leased by {h.describe()}" for s, h in busy)
                    + ")"
                )
            pause()
    except BaseException:
        release_all(held)
        raise


__all__ = ["PoolRequest", "candidates", "take"]
