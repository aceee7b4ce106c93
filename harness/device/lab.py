"""Open the phones a command names: start device sources, resolve, lease, fill pools.

The one way every command reaches its phones (`harness run` through
`harness.run.run`, a script calling it, `harness devices --device`, `harness
clean`): a token that starts a device (`sim`, `harness.device.sources`) is
started and `adb connect`ed through the first adb server; every selection is
resolved across every server (`harness.device.select`); with a lease request
(a run), fixed selections are leased first (refused or waited for when busy),
then each `pool:NAME[*N]` takes free phones of its pool that the run does not
already hold. Everything is released when the block ends, however it ends:
leases first, then the started devices.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from harness.config import HarnessConfig, load_config
from harness.device.lease import Lease, Owner, take_all
from harness.device.pools import PoolRequest, candidates, take
from harness.device.select import (
    POOL_PREFIX,
    connect,
    connect_all,
    refuse_twins,
    selection_tokens,
)
from harness.device.servers import (
    ATTACH_WAIT_S,
    disconnect,
    open_servers,
    server_key,
    server_specs,
)
from harness.device.session import DeviceSession
from harness.device.sources import find_source, is_source


@dataclass(frozen=True)
class LeaseRequest:
    """How a run leases its phones: wait how long (None: refuse at once), say what,
    name which run, and how long a drop during a lease call is waited out (None: not)."""

    wait_s: float | None
    emit: Callable[[str], None]
    run: str = ""
    reconnect_timeout_s: float | None = None


@dataclass
class Phones:
    """The sessions a command works on, and the leases that hold them (a run's)."""

    sessions: list[DeviceSession]
    leases: list[Lease] = field(default_factory=list)

    def name_run(self, run_id: str) -> None:
        """Write the run id into every held lease (known once the run folder exists)."""
        for lease in self.leases:
            lease.name_run(run_id)


def _twin(session: DeviceSession) -> DeviceSession:
    # The lease gets its own session: a stopping run aborts its sessions, and
    # the release after that must still reach the phone.
    return DeviceSession(session._client, session.serial)


def _start_sources(
    stack: contextlib.ExitStack, tokens: list[str], specs: Sequence[str | None]
) -> list[str]:
    """`tokens` with each device source started and replaced by its `HOST:PORT`.

    A started device is attached to the first adb server only; in a lab it is
    named there (`HOST:PORT@SERVER`), so no other server is asked for it.
    """
    first = specs[0]
    out = []
    for token in tokens:
        if token.lower().startswith(POOL_PREFIX) or not is_source(token):
            out.append(token)
            continue
        address = stack.enter_context(find_source(token)(token))
        stack.callback(disconnect, first, address)
        out.append(address if len(specs) == 1 else f"{address}@{server_key(first)}")
    return out


@contextlib.contextmanager
def open_lab(
    selection: Sequence[str],
    adb_servers: Sequence[str] | str | None,
    *,
    lease: LeaseRequest | None = None,
    wait_s: float = ATTACH_WAIT_S,
    config: HarnessConfig | None = None,
) -> Iterator[Phones]:
    """The phones of `selection` across every server; leased for the block when `lease`
    is given. An `offline` phone is waited for up to `wait_s`."""
    cfg = config if config is not None else load_config()
    # Before a device starts or a server is asked: a selection naming nothing is refused.
    tokens = selection_tokens(selection)
    specs = server_specs(adb_servers, cfg)
    with contextlib.ExitStack() as stack:
        tokens = _start_sources(stack, tokens, specs)
        if lease is None:
            yield Phones(connect(tokens, adb_server=adb_servers, config=cfg, wait_s=wait_s))
            return
        chosen = connect_all(tokens, adb_servers=adb_servers, config=cfg, wait_s=wait_s)
        owner = Owner.new(lease.run or f"starting-{os.getpid()}")
        held = take_all(
            chosen.sessions,
            owner,
            wait_s=lease.wait_s,
            emit=lease.emit,
            fresh=_twin,
            reconnect_timeout_s=lease.reconnect_timeout_s,
        )
        for one in held:
            stack.callback(one.close)
        if chosen.pools:
            servers = chosen.servers or open_servers(specs)
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
                    reconnect_timeout_s=lease.reconnect_timeout_s,
                )
                for one in got:
                    stack.callback(one.close)
                    exclude.add(f"{one.target.serial}@{one.target.adb_server}")
                    lease.emit(f"pool {request.name}: took {one.target.serial}")
                held += got
        refuse_twins([one.target.serial for one in held])
        yield Phones([one.target for one in held], held)


__all__ = ["LeaseRequest", "Phones", "open_lab"]
