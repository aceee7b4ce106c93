"""benchmark_model's op-profiling tables (`--enable_op_profiling=true`) as `OpNode` rows.

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

import math
import re
from dataclasses import dataclass

from harness.inputs import MAX_INT_DIGITS
from harness.stored import Stored

# Reference: docs/reference benchmark_model.md 1.2.5 (stats_calculator.cc formats).
_HEADER = re.compile(r"^=+\s*(?P<title>.+?)\s*=+$")
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?|[-+]?(?:nan|inf)%?"
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


@dataclass(frozen=True)
class OpNode(Stored):
    """One row of a "Run Order" table: a node of the graph and its timings.

    A row holds the keys of its table's columns only (`start_ms` only where the
    binary printed it; a column this reader does not know, under its own label,
    in `extra`), and `graph`: the subgraph label above the table, or None.
    """

    node_type: str | None = None
    start_ms: float | None = None
    first_ms: float | None = None
    avg_ms: float | None = None
    pct: float | None = None
    cdf_pct: float | None = None
    mem_kb: float | None = None
    times_called: int | None = None
    name: str | None = None
    graph: str | None = None


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


def _row(keys: list[str], fields: list[str], graph: str | None) -> OpNode | None:
    row: dict[str, float | int | str | None] = {}
    for key, value in zip(keys, fields, strict=True):
        if key in _TEXT_KEYS:
            row[key] = value
        elif key in _INT_KEYS:
            number = _number(value)
            # inf or nan is no count; 1e30 is not one either (and would be 31 digits)
            if number is None or not math.isfinite(number) or abs(number) >= 10**MAX_INT_DIGITS:
                row[key] = None
            else:
                row[key] = int(number)
        else:
            number = _number(value)
            if number is None:
                return None  # a text where a figure belongs: not a row
            row[key] = number
    row["graph"] = graph
    return OpNode.from_dict(row)


class OpTableReader:
    """Reads the regular-run "Run Order" rows one line at a time (constant memory).

    `feed` takes each log line in order; `ops` holds the rows so far (`OpNode`).
    """

    # Lines that can change the reader's state outside a table start with one of these.
    _MARKS = frozenset("=OPSDp")

    def __init__(self) -> None:
        self.ops: list[OpNode] = []
        self._phase = "run"  # tables before any phase heading belong to the regular runs
        self._graph: str | None = None
        self._table: tuple[list[str], bool] | None = None
        self._want_header = False

    @property
    def active(self) -> bool:
        """Inside a table (or just after its title): every next line matters."""
        return self._table is not None or self._want_header

    def feed(self, raw: str) -> None:
        """Take the next line (already stripped of log prefixes, or raw)."""
        text = raw.strip()
        if self._table is None and not self._want_header and text[:1] not in self._MARKS:
            return  # the common case: not in a table, not a heading
        if "Profiling Info for Benchmark Initialization" in text:
            self._phase, self._graph, self._table = "init", None, None
            return
        if "Profiling Info for Regular Benchmark Runs" in text:
            self._phase, self._graph, self._table = "run", None, None
            return
        if _GRAPH.match(text) or text.startswith("Delegate internal:"):
            self._graph, self._table = text.rstrip(":"), None
            return
        header = _HEADER.match(text)
        if header:
            self._want_header = header.group("title") == "Run Order" and self._phase == "run"
            self._table = None
            return
        if self._want_header:
            if text:
                self._table = _columns(raw.rstrip("\r\n"))
                self._want_header = False
            return
        if self._table is None:
            return
        if not text:
            self._table = None  # a blank line ends the table
            return
        keys, csv = self._table
        fields = _split_row(raw.rstrip("\r\n"), keys, csv)
        row = _row(keys, fields, self._graph) if fields is not None else None
        if row is None:
            self._table = None
            return
        self.ops.append(row)
