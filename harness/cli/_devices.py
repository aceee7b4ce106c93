"""Open the devices a command names, starting a simulated phone for `sim`.

Core code never imports harness.sim; this CLI helper is the one place where
the `sim` keyword of --device becomes a started SimDevice (a Pixel 1), which
is then reached like any phone: `adb connect` through the chosen adb server.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from harness.device.lab import LeaseRequest, open_lab
from harness.device.select import (
    ATTACH_WAIT_S,
    adb_connect,
    make_client,
    parse_server,
    selection_tokens,
)
from harness.device.session import DeviceSession
from harness.sim import SimDevice

AdbServers = Sequence[str] | str | None

log = logging.getLogger(__name__)


@contextlib.contextmanager
def open_devices(
    selection: list[str],
    adb_server: AdbServers,
    *,
    wait_s: float = ATTACH_WAIT_S,
    lease: LeaseRequest | None = None,
) -> Iterator[list[DeviceSession]]:
    """Sessions for `selection`; each `sim` entry is a fresh simulated Pixel 1, stopped at exit.

    An `offline` device is waited for up to `wait_s` (run passes --reconnect-timeout).
    Several adb servers may be given (a lab); with `lease`, each phone is
    leased for the block (harness.device.lab). A `sim` is connected through
    the first server.
    """
    tokens = selection_tokens(selection)  # before a simulator starts or a server is asked
    first = _first(adb_server)
    with contextlib.ExitStack() as stack:
        resolved: list[str] = []
        for token in tokens:
            if token.lower() != "sim":
                resolved.append(token)
                continue

            # Any: SimDevice sets its attributes in start(), beyond mypy's view.
            device: Any = SimDevice.start()
            stack.callback(device.stop)
            client = make_client(first)
            adb_connect(client, device.serial)
            stack.callback(_disconnect, first, device.serial)
            log.info("simulated Pixel 1 at %s", device.serial)
            resolved.append(device.serial)
        several = not isinstance(adb_server, str) and len(adb_server or []) > 1
        if several and any(t.lower() == "sim" for t in tokens):
            # The simulated phone is attached to the first server only: name it there,
            # so a serial seen on no other server resolves without ambiguity.
            resolved = [f"{t}@{_server_key(first)}" if t not in tokens else t for t in resolved]
        with open_lab(resolved, adb_server, wait_s=wait_s, lease=lease) as sessions:
            yield sessions


def _first(adb_server: AdbServers) -> str | None:
    if adb_server is None or isinstance(adb_server, str):
        return adb_server
    return next(iter(adb_server), None)


def _server_key(spec: str | None) -> str:
    host, port = parse_server(spec)
    return f"{host}:{port}"


def _disconnect(adb_server: str | None, serial: str) -> None:
    """Tell the server to forget a stopped simulated device (best effort)."""
    try:
        make_client(adb_server).disconnect(serial)
    except Exception as exc:  # cleanup must not hide the command's own outcome
        log.debug("adb disconnect %s: %s", serial, exc)
