"""Riding out a phone that drops off: does it answer, wait for it, call again.

A drop (USB replugged, an adb server restarted, a TCP phone roaming) is
waited out up to the run's reconnect timeout; a call that missed its deadline
while the phone still answers is not a drop. Calls that are safe to repeat
(preparation, taking a lease) go through `with_reconnect`; a trial's calls
follow the same rules with their own bounds (`harness.bench.remote`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from harness.device.session import DeviceSession
from harness.errors import (
    DeviceError,
    DeviceLostError,
    DeviceOfflineError,
    DeviceTimeoutError,
    SessionAborted,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often to knock while the device is away.
RECONNECT_PROBE_S = 0.5
# After a call missed its deadline: how long `true` may take to tell "the call
# hung" (it answers) from "the device is gone" (it does not).
PROBE_TIMEOUT_S = 5.0
# Preparation is repeatable (pushes skip what already matches), so a drop in
# the middle costs a wait and a second pass, never the run; this bounds the passes
# (of preparation, and of any call `with_reconnect` rides out).
PREPARE_ATTEMPTS = 3


def answers(session: DeviceSession, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the device runs `true` within `timeout_s` (one bounded round trip)."""
    try:
        session.shell(["true"], timeout_s=timeout_s, check=False)
    except SessionAborted:
        raise
    except DeviceError as exc:
        log.debug("%s does not answer: %s", session.serial, exc)
        return False
    return True


def wait_for_device(session: DeviceSession, *, timeout_s: float) -> bool:
    """Knock until the device answers a shell call again, or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if answers(session, min(PROBE_TIMEOUT_S, max(1.0, timeout_s))):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(RECONNECT_PROBE_S)


def with_reconnect(
    session: DeviceSession,
    what: str,
    call: Callable[[], T],
    *,
    reconnect_timeout_s: float,
    on_event: Callable[[str], None] = lambda _msg: None,
    again: str | None = None,
) -> T:
    """`call()`, run again after the device dropped off and came back; for calls
    that are safe to repeat (preparation, taking a lease).

    A drop (or a call that times out while the device does not answer) waits
    up to `reconnect_timeout_s` for the device and calls again, at most
    PREPARE_ATTEMPTS times; a device that stays away raises DeviceLostError.
    A call that times out while the device answers is a device problem,
    raised as is. `again` is what the message says happens next.
    """
    for attempt in range(1, PREPARE_ATTEMPTS + 1):
        try:
            return call()
        except (DeviceOfflineError, DeviceTimeoutError) as exc:
            if isinstance(exc, DeviceTimeoutError) and answers(session):
                raise
            if attempt == PREPARE_ATTEMPTS:
                raise
            on_event(
                f"{session.serial}: device lost during {what} ({exc}); waiting up to "
                f"{reconnect_timeout_s:g} s for it to come back"
            )
            if not wait_for_device(session, timeout_s=reconnect_timeout_s):
                raise DeviceLostError(
                    f"device did not come back within {reconnect_timeout_s:g} s",
                    serial=session.serial,
                    command=what,
                    hint="reconnect it, then run the same command again",
                ) from exc
            on_event(f"{session.serial}: device is back, {again or f'trying the {what} again'}")
    raise AssertionError("unreachable")
