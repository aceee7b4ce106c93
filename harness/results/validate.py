"""What a stored trial may hold: the checks every reader of a run applies, in one place.

A run folder is read back by `check`, `report`, `trend` and notebooks alike
(`harness.results.load`); a corrupt record must be refused there, naming the
file and line, rather than trusted: a `trials.jsonl` appended to itself
counts every trial twice and narrows every interval; an `Infinity` or `1e308`
latency renders as "inf" and poisons every mean. The rules:

- a trial id appears once per run;
- latency figures are finite numbers; `latency_ms` is positive, the `*_us`
  figures are not negative (a 0 us minimum is a timer artefact, not a lie);
- no latency is absurd: one inference longer than ABSURD_LATENCY_MS (ten
  minutes; a MobileNet takes milliseconds, the slowest phone a few seconds);
- the fields that group trials into configurations have their types (`threads`
  an integer, `variant` a string, ...): a `"x"` thread count would otherwise
  become its own configuration or crash a sort far from the file;
- meta.json's sections are objects (`devices` keyed by serial, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.results.schema import TrialRecord

ABSURD_LATENCY_MS = 600_000.0
# Per-trial figures benchmark_model prints, in microseconds.
US_FIELDS: tuple[str, ...] = (
    "avg_us",
    "min_us",
    "max_us",
    "std_us",
    "p5_us",
    "median_us",
    "p95_us",
    "init_us",
    "first_us",
    "warmup_avg_us",
    "inference_avg_us",
)


def _bad_number(value: Any, *, unit_ms: float, positive: bool) -> str | None:
    """Why a latency value cannot be trusted, or None when it can."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if not math.isfinite(value):
        return f"{value!r} is not finite"
    if value < 0 or (positive and value == 0):
        return f"{value!r} is not positive" if positive else f"{value!r} is negative"
    if value * unit_ms > ABSURD_LATENCY_MS:
        return f"{value!r} is absurd (over {ABSURD_LATENCY_MS / 60000:g} minutes per inference)"
    return None


# Fields every reader groups or sorts by, with the type each must have.
INT_FIELDS: tuple[str, ...] = (
    "threads", "resolution", "trial_index", "order_index", "num_runs", "warmup_runs",
)  # fmt: skip
STR_FIELDS: tuple[str, ...] = (
    "run_id", "trial_id", "device_serial", "device_model", "variant", "family", "quant",
    "cores", "core_mask", "xnnpack", "status",
)  # fmt: skip
# meta.json sections that are objects keyed by serial or model, and lists.
META_OBJECTS: tuple[str, ...] = ("settings", "devices", "binaries", "models", "cores", "missing")
META_LISTS: tuple[str, ...] = ("order",)


def _type_problem(data: Mapping[str, Any]) -> str | None:
    for name in INT_FIELDS:
        value = data.get(name)
        if name in data and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{name} {value!r} is not an integer"
    for name in STR_FIELDS:
        if name in data and not isinstance(data[name], str):
            return f"{name} {data[name]!r} is not a string"
    return None


def meta_problem(meta: Mapping[str, Any]) -> str | None:
    """Why a run's meta.json cannot be trusted (first problem), or None."""
    for name in META_OBJECTS:
        if meta.get(name) is not None and not isinstance(meta[name], dict):
            return f"{name!r} is {type(meta[name]).__name__}, not an object"
    for name in META_LISTS:
        if meta.get(name) is not None and not isinstance(meta[name], list):
            return f"{name!r} is {type(meta[name]).__name__}, not a list"
    return None


def record_problem(record: TrialRecord | Mapping[str, Any]) -> str | None:
    """Why one trial (a record or its stored dict) cannot be trusted (first problem), or None."""
    data = record.to_dict() if isinstance(record, TrialRecord) else record
    why = _type_problem(data)
    if why:
        return why
    why = _bad_number(data.get("latency_ms"), unit_ms=1.0, positive=True)
    if why:
        return f"latency_ms {why}"
    for name in US_FIELDS:
        why = _bad_number(data.get(name), unit_ms=1e-3, positive=False)
        if why:
            return f"{name} {why}"
    return None
