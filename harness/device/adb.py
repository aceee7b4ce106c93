"""adbutils, imported once, after the environment it reads is checked; adb server addresses.

adbutils reads ANDROID_ADB_SERVER_PORT as it is imported: `abc` raised a
ValueError there (a traceback before any command ran) and `70000` an
OverflowError at the first connection. Both are the user's setting, so every
harness module imports adbutils through this one, which refuses a bad port
first with one clear line (ConfigError, exit 2). The same rules read
`--adb-server HOST:PORT` and `[defaults] adb_server(s)`.
"""

from __future__ import annotations

import os

from harness.errors import ConfigError
from harness.ranges import Range

PORT = Range(1, 65535, integer=True)
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5037


def port_number(text: str, what: str) -> int:
    """A TCP port from text (`5037`), or ConfigError naming `what` and the range."""
    digits = text.strip()
    # At most 5 digits: int() of thousands of digits is an error of its own.
    value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 5 else None
    if value is None or PORT.problem(value):
        raise ConfigError(f"{what}: port {text!r} must be a whole number from {PORT}")
    return value


def env_server() -> tuple[str, int]:
    """HOST, PORT from ANDROID_ADB_SERVER_HOST/PORT, else adb's 127.0.0.1:5037."""
    host = os.environ.get("ANDROID_ADB_SERVER_HOST") or DEFAULT_HOST
    port = os.environ.get("ANDROID_ADB_SERVER_PORT")  # set but empty: adbutils fails too
    return host, DEFAULT_PORT if port is None else port_number(port, "ANDROID_ADB_SERVER_PORT")


env_server()  # before adbutils reads the same variable on import

from adbutils import (  # noqa: E402 (the check above must come first)
    AdbClient,
    AdbConnection,
    AdbError,
    AdbTimeout,
)

__all__ = [
    "PORT",
    "AdbClient",
    "AdbConnection",
    "AdbError",
    "AdbTimeout",
    "env_server",
    "port_number",
]
