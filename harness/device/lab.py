"""Open the phones of a lab run: resolve across servers, lease each, fill pools.

The one entry point `harness run` uses (through harness.cli._devices): fixed
selections are leased first (refused or waited for when busy), then each
`pool:NAME[*N]` takes free phones of its pool that the run does not already
hold. Every lease is released when the block ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from harness.config import HarnessConfig, load_config
from harness.device.lease import Lease, Owner, Reconnect, at_once, take_all
from harness.device.pools import PoolRequest, candidates, take
from harness.device.servers import connect_all, open_servers, refuse_twins, server_specs
from harness.device.session import DeviceSession
from harness.errors import PlanError


@dataclass
class LeaseRequest:
    """How a run leases its phones: wait how long (None: refuse at once), say what,
    and how a drop during a lease call is ridden out (the run's reconnect)."""

    wait_s: float | None
    emit: Callable[[str], None]
    run: str = ""
    leases: list[Lease] = field(default_factory=list)
    reconnect: Reconnect = at_once

    def name_run(self, run_id: str) -> None:
        """Write the run id into every held lease (known once the run folder exists)."""
        for lease in self.leases:
            lease.name_run(run_id)


def _twin(session: DeviceSession) -> DeviceSession:
    # The lease gets its own session: a stopping run aborts its sessions, and
    # the release after that must still reach the phone.
    return DeviceSession(session._client, session.serial)


@contextlib.contextmanager
def open_lab(
    selection: list[str],
    adb_servers: Sequence[str] | str | None,
    *,
    wait_s: float,
    lease: LeaseRequest | None,
    config: HarnessConfig | None = None,
) -> Iterator[list[DeviceSession]]:
    """Sessions for `selection` across every server; leased when `lease` is given."""
    cfg = config if config is not None else load_config()
    chosen = connect_all(selection, adb_servers=adb_servers, config=cfg, wait_s=wait_s)
    if lease is None:
        if chosen.pools:
            raise PlanError(
                f"--device {chosen.pools[0]}: pools are for `harness run`, "
                "which leases the phone it picks"
            )
        yield chosen.sessions
        return
    owner = Owner.new(lease.run or f"starting-{os.getpid()}")
    with contextlib.ExitStack() as stack:
        held = take_all(
            chosen.sessions,
            owner,
            wait_s=lease.wait_s,
            emit=lease.emit,
            fresh=_twin,
            reconnect=lease.reconnect,
        )
        for one in held:
            stack.callback(one.close)
        if chosen.pools:
            servers = chosen.servers or open_servers(server_specs(adb_servers, cfg))
            exclude = {f"{s.serial}@{s.adb_server}" for s in chosen.sessions}
            for token in chosen.pools:
                request = PoolRequest.parse(token)
                pool = candidates(request, servers, cfg, wait_s=wait_s)
                got = take(
                    request,
                    pool,
                    owner,
                    wait_s=lease.wait_s,
                    emit=lease.emit,
                    exclude=exclude,
                    fresh=_twin,
                    reconnect=lease.reconnect,
                )
                for one in got:
                    stack.callback(one.close)
                    exclude.add(f"{one.target.serial}@{one.target.adb_server}")
                    lease.emit(f"pool {request.name}: took {one.target.serial}")
                held += got
        refuse_twins([one.target.serial for one in held])
        lease.leases = held
        yield [one.target for one in held]


__all__ = ["LeaseRequest", "open_lab"]
