"""Quoting for the device shell (mksh): every value that reaches it goes through here.

Android's `adb shell` hands the command line to `sh -c` on the device, so a
model path such as `my model $(reboot).tflite` would be word-split and
expanded there. Single quotes stop every expansion in POSIX sh; a single quote
inside a value is closed, escaped and reopened (`'\\''`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words made only of these characters mean the same quoted or not; leaving
# them bare keeps debug logs readable.
_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def sh_quote(value: str) -> str:
    """Quote one word for a POSIX shell (mksh, toybox sh, dash)."""
    if "\x00" in value:
        # A NUL cannot travel through argv at all; refuse instead of truncating.
        raise ValueError("a shell word cannot contain a NUL byte")
    if value and _SAFE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def sh_join(argv: Iterable[str]) -> str:
    """Join argv into one command line that the device shell splits back exactly."""
    return " ".join(sh_quote(str(word)) for word in argv)
