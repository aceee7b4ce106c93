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
- every field has the type TrialRecord declares (`threads` an integer,
  `cooled` true, false or null, ...), and every value of meta.json the type
  `harness.results.meta.RunMeta` gives it (a device entry an object, its
  `clusters` a list of objects, `seed` an integer): a `"x"` thread count would
  otherwise become its own configuration, and a string where an object
  belongs crash a reader far from the file;
- a record belongs to its run: its `run_id` is the run's, and its trial id is
  one of the plan's (meta.json `order`, when the run has one), so a line
  copied in from elsewhere never counts as a trial of this run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.results.meta import RunMeta
from harness.results.schema import STORED_TYPES, TrialRecord
from harness.results.shapes import fields_checker

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


def latency_problem(value: Any, *, unit_ms: float, positive: bool) -> str | None:
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


_meta_problem = fields_checker(RunMeta.field_types())
_record_types = fields_checker(STORED_TYPES)


def meta_problem(meta: Mapping[str, Any]) -> str | None:
    """Why a run's meta.json cannot be trusted (first problem), or None."""
    return _meta_problem(meta)


def planned_ids(meta: RunMeta) -> frozenset[str] | None:
    """The trial ids a run planned (meta.json `order`); None when it records no plan."""
    return frozenset(meta.order) if meta.order else None


def plan_problem(
    trial_id: str, run_id: str, meta: RunMeta, planned: frozenset[str] | None
) -> str | None:
    """Why a record is not one of its run's trials (another run's, or not in the plan)."""
    if meta.run_id and run_id != meta.run_id:
        return f"trial {trial_id!r} belongs to run {run_id!r}, not {meta.run_id!r}"
    if planned is not None and trial_id not in planned:
        return f"trial {trial_id!r} is not one of the run's planned trials (meta.json order)"
    return None


def record_problem(record: TrialRecord | Mapping[str, Any]) -> str | None:
    """Why one trial (a record or its stored dict) cannot be trusted (first problem), or None."""
    data = record.to_dict() if isinstance(record, TrialRecord) else record
    why = _record_types(data)
    if why:
        return why
    why = latency_problem(data.get("latency_ms"), unit_ms=1.0, positive=True)
    if why:
        return f"latency_ms {why}"
    return next(iter(figure_problems(data).values()), None)


def figure_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """Each per-trial figure (`*_us`) that breaks the rules above, with why.

    The parser drops these from what a log reports (`parse` never calls such a
    log ok, and a run never stores a record its own reader would refuse).
    """
    out: dict[str, str] = {}
    for name in US_FIELDS:
        why = latency_problem(values.get(name), unit_ms=1e-3, positive=False)
        if why:
            out[name] = f"{name} {why}"
    return out
