"""Stage 1, devices: the run's phones, started (a device source such as `sim`), found, leased.

Opened before the plan, since the trial order names them, and leased for the
whole run (with a heartbeat), so no other run, from this host or another,
measures on them meanwhile. Every way into a run comes through here: the
command line and a script calling `harness.run.run` alike. When the run ends,
however it ends, the leases are released and the devices a source started are
stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.device.lab import LeaseRequest, Phones, open_lab
from harness.device.sources import is_source
from harness.selection import split_list
from harness.stages.settings import RunSettings


@contextlib.contextmanager
def open_devices(settings: RunSettings, emit: Callable[[str], None]) -> Iterator[Phones]:
    """Every --device of the run, leased for the block: waiting --wait-for-device for a
    busy one, named after a resumed run, riding out a drop during a lease call as
    preparation does (--reconnect-timeout)."""
    request = LeaseRequest(
        settings.wait_for_device_s,
        emit,
        run=Path(settings.resume).name if settings.resume else "",
        reconnect_timeout_s=settings.reconnect_timeout_s,
    )
    if settings.resume is not None:
        for token in split_list(settings.devices):
            if is_source(token):
                emit(
                    f"note: `{token}` starts a fresh device; trials continue under the run's serial"
                )
    with open_lab(
        settings.devices,
        settings.adb_server,
        wait_s=settings.reconnect_timeout_s,
        lease=request,
    ) as phones:
        yield phones
