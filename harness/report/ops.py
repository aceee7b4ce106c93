"""Per-op-type breakdown of runs made with --op-profile.

`harness run --op-profile` stores one profiling process per configuration in
the run folder's profiles.jsonl (harness.results.profiles: one row per node of
benchmark_model's "Run Order" table, never mixed with the latency trials; the
ops.parquet made from it is for people, never read back).
Here the nodes of one configuration are summed per op type. Each graph
(the primary graph, a delegate's internal ops) gets its own table: a
delegate node's time already contains its internal ops, so adding the two
would count that time twice.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from harness.report.model import OpBreakdown, OpRow
from harness.report.order import variant_size_key
from harness.report.runs import DeviceRun
from harness.results.profiles import ops_rows, read_profiles


def _avg_ms(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ops_rows(run: DeviceRun) -> list[dict[str, Any]]:
    """This device's op rows of the run (empty when it was not profiled), from profiles.jsonl."""
    out = []
    for row in ops_rows(run.run_dir):
        if str(row.get("device_serial")) != run.serial or "node_type" not in row:
            continue
        out.append({**row, "avg_ms": _avg_ms(row.get("avg_ms")), "graph": row.get("graph")})
    return out


def breakdowns(run: DeviceRun) -> tuple[OpBreakdown, ...]:
    """One op-type table per profiled configuration and graph, slowest type first."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for row in _ops_rows(run):
        if row["avg_ms"] is not None:
            groups[(str(row["config"]), row["graph"])].append(row)
    out = []
    for (config, graph), rows in groups.items():
        per_type: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            per_type[str(row["node_type"])].append(float(row["avg_ms"]))
        total = sum(sum(v) for v in per_type.values()) or 1.0
        table = tuple(
            OpRow(node_type=name, count=len(times), avg_ms=sum(times), pct=sum(times) / total)
            for name, times in sorted(per_type.items(), key=lambda kv: -sum(kv[1]))
        )
        first = rows[0]
        out.append(
            OpBreakdown(
                config=config,
                variant=str(first.get("variant")),
                quant=str(first.get("quant")),
                graph=None if graph is None else str(graph),
                rows=table,
            )
        )
    return tuple(
        sorted(out, key=lambda b: (variant_size_key(b.variant, b.quant, b.config), b.graph or ""))
    )


def profile_errors(run: DeviceRun) -> tuple[str, ...]:
    """Why profiling produced nothing for this device: the distinct errors in profiles.jsonl."""
    errors: dict[str, None] = {}
    for record in read_profiles(run.run_dir):
        if record.get("device_serial") != run.serial:
            continue
        if record.get("status") == "unsupported":
            errors["the benchmark binary has no --enable_op_profiling"] = None
        elif record.get("status") != "ok" and record.get("error"):
            errors[str(record["error"])] = None
    return tuple(errors)
