"""Reading one cell of a trials-table row as plain Python: given or not, a number, the
most common value.

Why: the summary reduces a handful of trials per configuration. Done with pandas
per group (arrow-backed strings, a Series per column) it cost ~10 ms a
configuration, most of a run's end; on the rows as dicts it costs well under 1 ms.
Missing is None, NaN or pd.NA in those dicts, and all three read as missing here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

# One trials-table row, read only: column name -> cell.
Row = Mapping[str, object]


def given(value: object) -> bool:
    """False for None, NaN and pd.NA: a field a trial did not record."""
    if value is None:
        return False
    try:
        return not bool(value != value)  # only NaN differs from itself
    except TypeError:  # pd.NA compares to NA, and NA has no truth value
        return False


def number(value: object) -> float | None:
    """The cell as a float; None when missing or not a number (as pandas' coerce)."""
    if not given(value) or isinstance(value, bool):
        return None
    try:
        out = float(value)  # type: ignore[arg-type]  # str, int, float, numpy scalars
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def truthy(value: object) -> bool:
    """A flag cell: missing reads as False."""
    return given(value) and bool(value)


def mode(values: Iterable[Any]) -> Any | None:
    """The most common given value; the smallest among equals, as pandas' `mode`."""
    counts = Counter(v for v in values if given(v))
    if not counts:
        return None
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)
