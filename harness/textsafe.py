"""Make device- and file-supplied text safe to print on a terminal.

A phone's properties, a benchmark log or a stored record can hold escape
sequences (`ESC ] 0 ; title BEL` retitles the window, `ESC [ 2 J` clears the
screen). Printed raw, they let a device or a file drive the user's terminal.
Every print site in `harness.cli` goes through `printable()` (via `echo()`);
stored records keep the raw values, since they are data, not terminal output.
JSON output escapes control characters itself, so it passes through unchanged.
"""

from __future__ import annotations

import logging
import re

import typer

# Whole escape sequences first, so no parameter text ("0;title", "2J") is left behind:
# OSC, DCS, SOS, PM, APC up to their terminator (BEL or ST), or to the line's end
# when unterminated; CSI with its parameters; then any other ESC form (ESC c, ESC ( B).
_SEQUENCES = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# What is left: C0 controls except tab and newline, DEL, and the C1 range.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters or escape sequences (newline and tab kept)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


ERROR_CHARS = 600  # the longest error line: long values are cut in the middle


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """`text` as one line of at most `limit` characters: line breaks become spaces, and
    a long middle (a 100,000-character value, a file's contents) gives way to `[...]`."""
    flat = " ".join(text.split("\n"))
    flat = flat.replace("\r", " ").replace("\u2028", " ").replace("\u2029", " ")
    if len(flat) <= limit:
        return flat
    keep = limit - len(" [...] ")
    head = keep * 2 // 3
    return f"{flat[:head]} [...] {flat[len(flat) - (keep - head) :]}"


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """`typer.echo` of `printable(message)`: the one way the CLI prints text."""
    typer.echo(printable(message), err=err, nl=nl)


class PrintableFormatter(logging.Formatter):
    """Log records as printable text: debug logs carry device output verbatim."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))
