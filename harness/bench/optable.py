"""benchmark_model's op-profiling tables (`--enable_op_profiling=true`) as row dicts.

The tables come from TensorFlow's `StatsCalculator`, whose layout changed over
the years: older builds have a `[start]` column and a narrower node-type
field; newer ones drop `[start]`; rows are TAB separated, but logs copied
from web pages often have the TABs turned into spaces; and in CSV mode the
XNNPACK node types (``Convolution (NHWC, F32) IGEMM``) contain unescaped
commas. So columns are mapped from each table's own header, and rows are
split on TABs when there are any, else matched from both ends around the
numeric columns, which can never contain spaces or commas.

Only the "Run Order" tables of the regular benchmark runs are returned: the
initialization profile and the summary tables would count ops twice, and
`Timings (microseconds)` below them is the profiler's sum, never latency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Reference: docs/reference benchmark_model.md 1.2.5 (stats_calculator.cc formats).
_HEADER = re.compile(r"^=+\s*(?P<title>.+?)\s*=+$")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?|[-+]?(?:nan|inf)%?"
_GRAPH = re.compile(r"^(?:Primary graph \(name: .*\) profile:|Subgraph \(index: .*\) profile:)$")

# Header label (lower case, brackets removed) -> output key.
_COLUMNS = {
    "node type": "node_type",
    "start": "start_ms",
    "first": "first_ms",
    "avg ms": "avg_ms",
    "avg_ms": "avg_ms",
    "%": "pct",
    "cdf%": "cdf_pct",
    "mem kb": "mem_kb",
    "times called": "times_called",
    "name": "name",
}
_TEXT_KEYS = ("node_type", "name")
_INT_KEYS = ("times_called",)


def _columns(header: str) -> tuple[list[str], bool] | None:
    """Output keys of a table header line, and whether it is CSV; None if not a header."""
    bracketed = re.findall(r"\[([^\]]+)\]", header)
    if bracketed and bracketed[0].strip().lower() == "node type":
        labels, csv = bracketed, False
    elif header.strip().lower().startswith("node type,"):
        labels, csv = header.split(","), True
    else:
        return None
    keys = [_COLUMNS.get(label.strip().lower(), label.strip().lower()) for label in labels]
    return keys, csv


def _number(text: str) -> float | None:
    text = text.strip().rstrip("%")
    try:
        return float(text)
    except ValueError:
        return None


def _split_row(line: str, keys: list[str], csv: bool) -> list[str] | None:
    """The row's fields in header order, or None when it is not a row of this table."""
    has_name = keys[-1] == "name"
    n_numeric = len(keys) - 1 - int(has_name)
    if csv:
        parts = line.split(",")
        if len(parts) < len(keys):
            return None
        tail = parts[len(parts) - n_numeric - int(has_name) :]
        node_type = ",".join(parts[: len(parts) - len(tail)])
        return [node_type.strip(), *(p.strip() for p in tail)]
    if "\t" in line:
        fields = [f.strip() for f in line.split("\t")]
        while fields and not fields[0]:
            fields.pop(0)  # rows start with the TAB before the first field
        if len(fields) > len(keys) and has_name:
            fields = [*fields[: len(keys) - 1], "\t".join(fields[len(keys) - 1 :])]
        return fields if len(fields) == len(keys) else None
    # The node type is the shortest prefix followed by exactly the numeric columns.
    pattern = r"^\s*(\S.*?)" + "".join(r"\s+(" + _NUM + r")" for _ in range(n_numeric))
    pattern += r"\s+(\S.*?)\s*$" if has_name else r"\s*$"
    match = re.match(pattern, line, flags=re.IGNORECASE)
    return list(match.groups()) if match else None


def _row_dict(keys: list[str], fields: list[str]) -> dict[str, Any] | None:
    row: dict[str, Any] = {}
    for key, value in zip(keys, fields, strict=True):
        if key in _TEXT_KEYS:
            row[key] = value
        elif key in _INT_KEYS:
            number = _number(value)
            row[key] = None if number is None else int(number)
        else:
            number = _number(value)
            if number is None:
                return None  # a text where a figure belongs: not a row
            row[key] = number
    return row


def parse_op_tables(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of every regular-run "Run Order" table, in the order printed.

    Each row has `node_type`, `first_ms`, `avg_ms`, `pct`, `cdf_pct`, `mem_kb`,
    `times_called`, `name` (and `start_ms` when the binary prints it), plus
    `graph`: the subgraph label above the table, or None.
    """
    ops: list[dict[str, Any]] = []
    phase = "run"  # tables before any phase heading belong to the regular runs (old builds)
    graph: str | None = None
    table: tuple[list[str], bool] | None = None
    want_header = False
    for raw in lines:
        line = raw.rstrip("\r\n")
        text = line.strip()
        if "Profiling Info for Benchmark Initialization" in text:
            phase, graph, table = "init", None, None
            continue
        if "Profiling Info for Regular Benchmark Runs" in text:
            phase, graph, table = "run", None, None
            continue
        if _GRAPH.match(text) or text.startswith("Delegate internal:"):
            graph, table = text.rstrip(":"), None
            continue
        header = _HEADER.match(text)
        if header:
            want_header = header.group("title") == "Run Order" and phase == "run"
            table = None
            continue
        if want_header:
            if not text:
                continue
            table = _columns(line)
            want_header = False
            continue
        if table is None:
            continue
        if not text:
            table = None  # a blank line ends the table
            continue
        keys, csv = table
        fields = _split_row(line, keys, csv)
        row = _row_dict(keys, fields) if fields is not None else None
        if row is None:
            table = None
            continue
        row["graph"] = graph
        ops.append(row)
    return ops
