"""The adb server's smart-socket framing, with deadlines: what DeviceSession speaks.

adbutils' own helpers have no deadline per call; these take a monotonic
deadline so that every device call is bounded (see DeviceSession).
"""

from __future__ import annotations

import contextlib
import socket
import time

from harness.device import sync
from harness.device.adb import AdbConnection, AdbError
from harness.errors import SyncTimeout


def service(name: str) -> bytes:
    """A request to the adb server: 4 hex digits of length, then the name."""
    data = name.encode("utf-8")
    return f"{len(data):04x}".encode() + data


def send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    """Send every byte before `deadline` (monotonic seconds)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SyncTimeout("deadline passed")
    sock.settimeout(remaining)
    sock.sendall(data)


def expect_okay(sock: socket.socket, deadline: float) -> None:
    """Read the server's OKAY; AdbError with its message for FAIL."""
    status = sync.recv_exact(sock, 4, deadline)
    if status == b"OKAY":
        return
    if status == b"FAIL":
        length = int(sync.recv_exact(sock, 4, deadline), 16)
        raise AdbError(decode(sync.recv_exact(sock, length, deadline)))
    raise AdbError(f"unexpected reply {status!r}")


def decode(data: bytes | bytearray) -> str:
    """Device text as str; bytes that are not UTF-8 become U+FFFD."""
    return bytes(data).decode("utf-8", errors="replace")


def close(conn: AdbConnection) -> None:
    """Close without adbutils' 10 ms linger (it costs ~a third of a round trip)."""
    with contextlib.suppress(AdbError, OSError):
        conn.conn.close()
