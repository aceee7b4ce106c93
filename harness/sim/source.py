"""`--device sim` (a Pixel 1) and `--device sim:PROFILE`: the simulated phone as a device source.

The harness finds this source by name (`harness.device.sources`), starts it,
`adb connect`s the address it gives and from then on reaches the simulated
phone like any phone over TCP; leaving the context stops it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from harness.errors import OptionError
from harness.sim import profiles
from harness.sim.device import SimDevice

log = logging.getLogger(__name__)


@contextlib.contextmanager
def start(token: str) -> Iterator[str]:
    """A fresh simulated phone for `sim` or `sim:PROFILE`; yields its `HOST:PORT`."""
    _name, _, given = token.partition(":")
    profile = given.strip().lower() or None
    if profile is not None and profile not in profiles.PROFILES:
        raise OptionError(
            f"--device {token}: no simulated device profile {profile!r}",
            option="--device",
            hint="use sim (a Pixel 1) or sim:PROFILE, PROFILE one of "
            + ", ".join(sorted(profiles.PROFILES)),
        )
    device = SimDevice.start(profile=profile)
    log.info("simulated %s at %s", device.props.get("ro.product.model"), device.serial)
    try:
        yield device.serial
    finally:
        device.stop()
