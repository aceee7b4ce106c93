"""TrialRecords as a tidy pandas table with one fixed set of columns and dtypes.

The same function builds the frame whether the trials come from
`trials.jsonl` or are about to be written to `trials.parquet`, so a run reads
back identically from either file. Dict columns (CPU frequencies) are stored
as JSON strings: parquet and every consumer can hold a string.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from harness.results.schema import ABSENT_MEANS, STORED_TYPES, TrialRecord

if TYPE_CHECKING:  # pandas is imported where tables are built, not by every importer
    import pandas as pd


def _dtype_for(annotation: Any) -> str:
    """The pandas dtype for one TrialRecord field's annotation."""
    args = set(typing.get_args(annotation))
    optional = type(None) in args
    base = annotation
    if optional:
        rest = [a for a in args if a is not type(None)]
        base = rest[0] if len(rest) == 1 else object
    origin = typing.get_origin(base)
    if origin is typing.Literal or base is str:
        return "string"
    if origin is dict or base is dict:
        return "string"  # JSON text, see module docstring
    if base is float:
        return "float64"
    if base is bool:
        return "boolean"
    if base is int:
        return "Int64" if optional else "int64"
    return "object"


TRIAL_DTYPES: dict[str, str] = {name: _dtype_for(kind) for name, kind in STORED_TYPES.items()}
"""Column name -> pandas dtype for the trial table (the stored fields, in order)."""


def _is_dict(annotation: Any) -> bool:
    """A dict field, or an optional one (`dict[str, float] | None`)."""
    kinds = [annotation, *typing.get_args(annotation)]
    return any(k is dict or typing.get_origin(k) is dict for k in kinds)


DICT_COLUMNS: tuple[str, ...] = tuple(name for name, kind in STORED_TYPES.items() if _is_dict(kind))


def json_safe(value: Any) -> Any:
    """A copy of `value` that `json.dumps(allow_nan=False)` accepts.

    Non-finite floats become None (JSON has no NaN), sets become sorted lists,
    paths and other objects become strings, dataclasses become dicts.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return json_safe(to_dict() if callable(to_dict) else dataclasses.asdict(value))
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)


def trials_frame(rows: Iterable[TrialRecord | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per trial with exactly the TRIAL_DTYPES columns, in that order."""
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    dicts = [r.to_dict() if isinstance(r, TrialRecord) else dict(r) for r in rows]
    data: dict[str, list[Any]] = {}
    for name in TRIAL_DTYPES:
        column = [d.get(name) for d in dicts]
        if name in DICT_COLUMNS:
            column = [
                v if v is None or isinstance(v, str) else json.dumps(json_safe(v), sort_keys=True)
                for v in column
            ]
        data[name] = column
    frame = pd.DataFrame(data, columns=list(TRIAL_DTYPES))
    return coerce(frame)


def coerce(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the trial columns their fixed dtypes (after jsonl or parquet reads)."""
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    for name, dtype in TRIAL_DTYPES.items():
        if name not in frame.columns:
            frame[name] = pd.Series([None] * len(frame), dtype=dtype, index=frame.index)
            continue
        column = frame[name]
        if dtype == "float64":
            frame[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        elif dtype in ("int64", "Int64"):
            nullable: Any = dtype  # "int64" or "Int64": a str the stubs cannot narrow
            frame[name] = pd.to_numeric(column, errors="coerce").astype(nullable)
        elif dtype == "boolean":
            frame[name] = column.astype("boolean")
        elif dtype == "string":
            frame[name] = column.astype("string")
    for name, meant in ABSENT_MEANS.items():
        frame[name] = frame[name].fillna(meant)
    return frame
