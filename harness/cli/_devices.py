"""Open the devices a command names, starting a simulated phone for `sim`.

Core code never imports harness.sim; this CLI helper is the one place where
the `sim` keyword of --device becomes a started SimDevice (a Pixel 1), which
is then reached like any phone: `adb connect` through the chosen adb server.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from harness.device.select import ATTACH_WAIT_S, adb_connect, connect, make_client
from harness.device.session import DeviceSession

log = logging.getLogger(__name__)


@contextlib.contextmanager
def open_devices(
    selection: list[str], adb_server: str | None, *, wait_s: float = ATTACH_WAIT_S
) -> Iterator[list[DeviceSession]]:
    """Sessions for `selection`; each `sim` entry is a fresh simulated Pixel 1, stopped at exit.

    An `offline` device is waited for up to `wait_s` (run passes --reconnect-timeout).
    """
    tokens = [t.strip() for item in selection for t in item.split(",") if t.strip()]
    with contextlib.ExitStack() as stack:
        resolved: list[str] = []
        for token in tokens:
            if token.lower() != "sim":
                resolved.append(token)
                continue
            from harness.sim import SimDevice  # only the CLI may import the simulator

            # Any: SimDevice sets its attributes in start(), beyond mypy's view.
            device: Any = SimDevice.start()
            stack.callback(device.stop)
            client = make_client(adb_server)
            adb_connect(client, device.serial)
            stack.callback(_disconnect, adb_server, device.serial)
            log.info("simulated Pixel 1 at %s", device.serial)
            resolved.append(device.serial)
        yield connect(resolved, adb_server=adb_server, wait_s=wait_s)


def _disconnect(adb_server: str | None, serial: str) -> None:
    """Tell the server to forget a stopped simulated device (best effort)."""
    try:
        make_client(adb_server).disconnect(serial)
    except Exception as exc:  # cleanup must not hide the command's own outcome
        log.debug("adb disconnect %s: %s", serial, exc)
