"""What a device call returns, and its failures as typed DeviceErrors.

Every adbutils or socket failure of a DeviceSession call passes
`map_adb_error`, so callers catch DeviceError subclasses only (as mobly's
AdbProxy raises AdbError and AdbTimeoutError) and the message says what to do.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from harness.device.adb import AdbTimeout
from harness.errors import (
    DeviceError,
    DeviceOfflineError,
    DeviceTimeoutError,
    DeviceUnauthorizedError,
    SyncClosed,
    SyncTimeout,
)

OUTPUT_TAIL_CHARS = 2000

UNAUTHORIZED_HINT = (
    "unlock the phone and accept the 'Allow USB debugging?' prompt for this host, then retry; "
    "no prompt? revoke USB debugging authorizations in Developer options and replug the "
    "cable (or `adb disconnect` and `adb connect` it again)"
)
OFFLINE_HINT = (
    "reconnect the cable or run `adb connect HOST:PORT` again; `harness devices` lists "
    "what the adb server sees"
)


@dataclass(frozen=True)
class ShellResult:
    """What a device shell command returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (stderr last), for messages and parsers."""
        return self.stdout + self.stderr


def tail(text: str) -> str:
    """The last OUTPUT_TAIL_CHARS of a command's output, marked when cut."""
    return text if len(text) <= OUTPUT_TAIL_CHARS else "..." + text[-OUTPUT_TAIL_CHARS:]


def map_adb_error(exc: BaseException, *, serial: str | None, command: str) -> DeviceError:
    """Turn an adbutils / socket failure into the matching DeviceError subclass."""
    if isinstance(exc, DeviceError):
        return exc
    text = str(exc).strip()
    if isinstance(exc, AdbTimeout | TimeoutError | socket.timeout | SyncTimeout):
        return DeviceTimeoutError(
            f"timed out: {command}", serial=serial, command=command, stderr=text or None
        )
    if "unauthorized" in text:
        return DeviceUnauthorizedError(
            "device is unauthorized",
            serial=serial,
            command=command,
            stderr=text,
            hint=UNAUTHORIZED_HINT,
        )
    lowered = text.lower()
    if (
        isinstance(exc, EOFError | ConnectionError | SyncClosed)
        or not text
        or "offline" in lowered
        or "not found" in lowered
        or "closed" in lowered
    ):
        return DeviceOfflineError(
            f"device went away during: {command}" + (f" ({text})" if text else ""),
            serial=serial,
            command=command,
            stderr=text or None,
            hint=OFFLINE_HINT,
        )
    return DeviceError(f"adb failed: {text} (during: {command})", serial=serial, command=command)


def parse_sha256_line(stdout: str, remote: str, *, serial: str | None) -> str | None:
    """Read `sha256sum` output (`<hex>  <path>`); None for the `absent` answer."""
    first = stdout.strip().split("\n", 1)[0].strip()
    if first == "absent":
        return None
    # A leading backslash says sha256sum escaped the file name; the hash follows.
    digest = first.lstrip("\\").split(" ", 1)[0].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DeviceError(
            f"cannot read the sha256 of {remote}: {first[:120]!r}",
            serial=serial,
            command=f"sha256sum {remote}",
            stdout=stdout,
            hint="the device needs toybox sha256sum (Android 6+)",
        )
    return digest
