"""Console tables: every table the harness prints for people is drawn here, so all look alike.

A table is a header, a dashed rule as wide as each column, then one line per row:
columns two spaces apart, each as wide as its widest cell, figures right-aligned and
words left-aligned, no blanks at a line's end. A cell is made printable and kept on
one line (a device's model name or a model's label may hold control characters or a
newline, which would break the rows). An optional title line goes above the header.
It lives beside `textsafe`, below every package, because `compare` and `convert`
format tables that the command line prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.textsafe import printable

Align = Literal["left", "right"]

GAP = "  "


@dataclass(frozen=True)
class Column:
    """One column: its header and how its cells align (figures right, words left)."""

    title: str
    align: Align = "left"


def cell(text: str) -> str:
    """`text` printable and on one line: blanks, tabs and newlines folded to one space."""
    return " ".join(printable(text).split())


def draw(
    columns: Sequence[Column], rows: Iterable[Sequence[str]], *, title: str | None = None
) -> list[str]:
    """The table's lines (title, header, rule, rows); a row has one cell per column."""
    body = [tuple(cell(c) for c in row) for row in rows]
    for row in body:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(columns)} columns")
    heads = tuple(cell(c.title) for c in columns)
    widths = [max([len(h), *(len(row[i]) for row in body)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return GAP.join(
            c.rjust(w) if col.align == "right" else c.ljust(w)
            for c, w, col in zip(cells, widths, columns, strict=True)
        ).rstrip()

    lines = [cell(title)] if title else []
    lines += [line(heads), line(["-" * w for w in widths])]
    lines += [line(row) for row in body]
    return lines
