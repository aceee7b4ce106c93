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


# An error line says what went wrong and where, not a whole file or log: one word
# (a run of non-blank text: a value, a path) keeps this many characters, the line this many.
MAX_WORD = 200
MAX_LINE = 2000


def _cut(text: str, keep: int, sep: str = "") -> str:
    """`text` in at most `keep` characters: its head and tail, and how much was cut between."""
    if len(text) <= keep:
        return text
    room = keep - 32  # what the note between takes, at most
    head, tail = room * 3 // 4, room // 4
    return f"{text[:head]}{sep}…[{len(text) - head - tail} characters cut]…{sep}{text[-tail:]}"


def one_line(text: str) -> str:
    """`printable(text)` as one bounded line: blanks and newlines folded, long values cut.

    Every error the CLI prints goes through here, so a 100,000-character
    variant name or a multi-line device message is still one readable line.
    """
    words = [_cut(word, MAX_WORD) for word in printable(text).split()]
    return _cut(" ".join(words), MAX_LINE, " ")


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """`typer.echo` of `printable(message)`: the one way the CLI prints text."""
    typer.echo(printable(message), err=err, nl=nl)


class PrintableFormatter(logging.Formatter):
    """Log records as printable text: debug logs carry device output verbatim."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))
