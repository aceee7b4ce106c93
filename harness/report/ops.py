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

from harness.logs.optable import OpNode
from harness.report.model import OpBreakdown, OpRow
from harness.report.order import variant_size_key
from harness.report.runs import DeviceRun
from harness.results.profiles import ProfileRecord, read_profiles


def breakdowns(run: DeviceRun) -> tuple[OpBreakdown, ...]:
    """One op-type table per profiled configuration and graph, slowest type first."""
    # This device's timed nodes of the run (none when it was not profiled), by config and graph.
    groups: dict[tuple[str, str | None], list[tuple[ProfileRecord, OpNode, float]]]
    groups = defaultdict(list)
    for record in read_profiles(run.run_dir):
        if record.device_serial != run.serial:
            continue
        for node in record.ops:
            if node.has("node_type") and node.avg_ms is not None and math.isfinite(node.avg_ms):
                groups[(record.config, node.graph)].append((record, node, node.avg_ms))
    out = []
    for (config, graph), nodes in groups.items():
        per_type: dict[str, list[float]] = defaultdict(list)
        for _record, node, avg_ms in nodes:
            per_type[str(node.node_type)].append(avg_ms)
        total = sum(sum(v) for v in per_type.values()) or 1.0
        table = tuple(
            OpRow(node_type=name, count=len(times), avg_ms=sum(times), pct=sum(times) / total)
            for name, times in sorted(per_type.items(), key=lambda kv: -sum(kv[1]))
        )
        first = nodes[0][0]
        out.append(
            OpBreakdown(
                config=config,
                variant=str(first.stored("variant")),
                quant=str(first.stored("quant")),
                graph=graph,
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
        if record.device_serial != run.serial:
            continue
        if record.status == "unsupported":
            errors["the benchmark binary has no --enable_op_profiling"] = None
        elif record.status != "ok" and record.error:
            errors[record.error] = None
    return tuple(errors)
