"""What a missed deadline or a drop means for a trial call (remote.TrialRemote's policy).

The device here is a stand-in that only answers (or not) the `true` probe;
the calls themselves are functions that raise what a session would.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.bench.remote import MAX_RECOVERIES, TrialRemote
from harness.errors import CallHung, DeviceLostError, DeviceOfflineError, DeviceTimeoutError


class Phone:
    """Answers `true` when `up`; counts the probes."""

    serial = "FAKE1"

    def __init__(self, up: bool) -> None:
        self.up = up
        self.probes = 0

    def shell(self, argv: Any, *, timeout_s: float, check: bool = True) -> Any:
        self.probes += 1
        if not self.up:
            raise DeviceTimeoutError("timed out: true", serial=self.serial)
        return None


def _remote(phone: Phone) -> TrialRemote:
    return TrialRemote(phone, "run_trial.sh", "/trials", reconnect_timeout_s=0.2)  # type: ignore[arg-type]


def test_a_timed_out_call_on_a_device_that_answers_is_hung_not_retried() -> None:
    phone, calls = Phone(up=True), []

    def call() -> str:
        calls.append(1)
        raise DeviceTimeoutError("timed out: collect", serial=phone.serial, command="collect")

    with pytest.raises(CallHung, match="did not answer in time, though the device does"):
        _remote(phone).resilient("trial poll", call)
    assert len(calls) == 1 and phone.probes == 1


def test_a_silent_device_is_lost_after_the_reconnect_timeout() -> None:
    phone = Phone(up=False)

    def call() -> str:
        raise DeviceTimeoutError("timed out: collect", serial=phone.serial)

    with pytest.raises(DeviceLostError, match=r"did not come back within 0\.2 s"):
        _remote(phone).resilient("trial poll", call)


def test_a_device_that_keeps_dropping_is_lost_after_a_bounded_number_of_waits() -> None:
    phone, calls = Phone(up=True), []

    def call() -> str:
        calls.append(1)
        raise DeviceOfflineError("device went away", serial=phone.serial)

    with pytest.raises(DeviceLostError, match=f"dropped off {MAX_RECOVERIES} times"):
        _remote(phone).resilient("trial poll", call)
    assert len(calls) == MAX_RECOVERIES


def test_a_call_that_succeeds_after_a_drop_returns_its_answer() -> None:
    phone, calls = Phone(up=True), []

    def call() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise DeviceOfflineError("device went away", serial=phone.serial)
        return "state=done"

    assert _remote(phone).resilient("trial poll", call) == "state=done"
