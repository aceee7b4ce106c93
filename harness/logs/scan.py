"""Find the few lines of a log block worth reading, at C speed.

A benchmark_model log is mostly lines no figure lives in: parameter echoes,
runtime chatter, logcat noise, op-table rows. Matching every line in Python
costs microseconds a line; `str.find` for each keyword over a whole block
costs a few milliseconds a megabyte. So the reader looks only at lines that
hold a keyword, and at the lines of an op table it is inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from harness.logs.lineforms import FORMS, normalise

BLOCK_CHARS = 1 << 20  # 1 Mi characters a block: find() dominates, memory stays small
# Severity tags: a line that carries one marks the log as a 2020+ build (see parser).
TAGS = ("INFO: ", "WARN: ", "WARNING: ", "ERROR: ", "VERBOSE: ", "FATAL: ", "DEBUG: ")
# Every word that can make a line matter to the parser. A line without any of them
# changes nothing but the op-table reader (handled by the caller) and the tail.
_WORDS = [
    "STARTING!", "count=", "Running benchmark", "Profiling Info", "=====", "profile:",
    "Delegate internal:", "harness benchmark_model stand-in", "ERROR", "FATAL",
    # the parameter echo of the delegates asked for (delegates.ASKED; the echoes that refine
    # them are read in the lines after, parser._REFINES)
    "Use ", "External delegate path",
    # what parser._FATAL looks for: [Ff]ailed, [Cc]ould not, [Aa]borted, ...; a delegate that
    # failed to apply (delegates.FAILED: `Restored original execution plan ...`)
    "ailed", "ould not", "borted", "fault", "erminate called", "Restored original",
    *(form.key for form in FORMS),
]  # fmt: skip
# A keyword that holds another is found by that one: each find() costs a pass over the block.
KEYWORDS: tuple[str, ...] = tuple(
    key for key in dict.fromkeys(_WORDS) if not any(o != key and o in key for o in _WORDS)
)


def keyword_line_starts(
    text: str, lo: int = 0, hi: int | None = None, keywords: Iterable[str] = KEYWORDS
) -> list[int]:
    """Sorted starts of the lines of `text[lo:hi]` that contain any keyword."""
    hi = len(text) if hi is None else hi
    starts: set[int] = set()
    find, rfind = text.find, text.rfind
    for key in keywords:
        pos = find(key, lo, hi)
        while pos != -1:
            starts.add(max(rfind("\n", 0, pos) + 1, lo))
            end = find("\n", pos, hi)
            if end == -1:
                break
            pos = find(key, end, hi)
    return sorted(starts)


def start_lines(text: str) -> list[int]:
    """Offsets of the lines of `text` that say STARTING! (a new benchmark_model run)."""
    out: list[int] = []
    pos = text.find("STARTING!")
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        if normalise(line_at(text, start)[0])[0] == "STARTING!":
            out.append(start)
        pos = text.find("STARTING!", pos + 1)
    return out


def line_at(text: str, start: int) -> tuple[str, int]:
    """The line of `text` starting at `start` (without its newline), and where the next starts."""
    end = text.find("\n", start)
    if end == -1:
        return text[start:], len(text)
    return text[start:end], end + 1


def last_messages(text: str, lo: int, n: int = 3, *, hi: int | None = None) -> list[str]:
    """The last `n` non-empty normalised lines of `text[lo:hi]`, oldest first."""
    out: list[str] = []
    end = len(text) if hi is None else hi
    while end > lo and len(out) < n:
        start = max(text.rfind("\n", lo, end) + 1, lo)
        message = normalise(text[start:end])[0]
        if message:
            out.append(message)
        end = start - 1
    return out[::-1]


def tagged_after(text: str, lo: int) -> bool:
    """Whether a line of `text[lo:]` carries an INFO:-style severity tag."""
    for tag in TAGS:
        pos = text.find(tag, lo)
        while pos != -1:
            start = text.rfind("\n", 0, pos) + 1
            if start >= lo and normalise(line_at(text, start)[0])[1] is not None:
                return True
            pos = text.find(tag, pos + 1)
    return False


def blocks(handle: TextIO, size: int = BLOCK_CHARS) -> Iterator[str]:
    """The text of `handle` in blocks of whole lines (the last may lack its newline)."""
    pending: list[str] = []  # a line longer than a block, in pieces (joined once)
    while True:
        data = handle.read(size)
        if not data:
            break
        cut = data.rfind("\n") + 1
        if cut == 0:
            pending.append(data)
            continue
        yield "".join(pending) + data[:cut]
        pending = [data[cut:]]
    if rest := "".join(pending):
        yield rest
