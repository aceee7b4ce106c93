"""`adb connect` to an address that refuses: asked again on a schedule, said once, never polled."""

from __future__ import annotations

import logging
from typing import cast

import pytest
from adbutils import AdbClient

from harness.device.servers import adb_connect
from harness.errors import DeviceNotFoundError


class _Refusing:
    """The adb server's answers for an address nobody listens on."""

    def __init__(self) -> None:
        self.asked = 0
        self.listed = 0

    def connect(self, address: str, timeout: float) -> str:
        self.asked += 1
        return f"failed to connect to '{address}': Connection refused"

    def list(self, extended: bool = False) -> list[object]:
        self.listed += 1
        return []


def test_a_refused_address_is_asked_again_without_polling(caplog: pytest.LogCaptureFixture) -> None:
    server = _Refusing()
    with caplog.at_level(logging.WARNING), pytest.raises(DeviceNotFoundError, match="refused"):
        adb_connect(cast(AdbClient, server), "127.0.0.1:9", wait_s=0.5)
    # One ask inside a window shorter than the asking period, a look after it and one at
    # the deadline: the server's device list is not polled in between.
    assert server.asked == 1 and server.listed <= 2, (server.asked, server.listed)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Connection refused" in warning and "asking again every 2 s for up to 0.5 s" in warning
