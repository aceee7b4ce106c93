"""Per-op-type breakdown of runs made with --op-profile.

The bench parser gives each profiled trial an `ops` list (one dict per node
type of benchmark_model's "Summary by node type" table). Trials of one
configuration are averaged per node type, and each type's share is recomputed
from those averages so the shares add up to 100%.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from harness.report.model import OpBreakdown, OpRow
from harness.report.runs import DeviceRun


def _op_list(value: Any) -> list[dict[str, Any]]:
    """The trial's `ops` as a list of dicts (stored as a list or as JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _number(op: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = op.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def breakdowns(run: DeviceRun) -> tuple[OpBreakdown, ...]:
    """One op-type table per profiled configuration, slowest type first."""
    by_config: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for trial in run.trials:
        if trial.get("status") == "ok" and _op_list(trial.get("ops")):
            by_config[str(trial["config"])].append(trial)
    out = []
    for config, trials in by_config.items():
        times: dict[str, list[float]] = defaultdict(list)
        counts: dict[str, float] = {}
        for trial in trials:
            for op in _op_list(trial.get("ops")):
                name = str(op.get("node_type") or op.get("type") or "?")
                avg = _number(op, "avg_ms")
                if avg is None:
                    continue
                times[name].append(avg)
                count = _number(op, "count")
                if count is not None:
                    counts[name] = count
        means = {name: sum(v) / len(v) for name, v in times.items()}
        total = sum(means.values()) or 1.0
        rows = tuple(
            OpRow(
                node_type=name,
                count=int(counts[name]) if name in counts else None,
                avg_ms=ms,
                pct=ms / total,
            )
            for name, ms in sorted(means.items(), key=lambda kv: -kv[1])
        )
        if rows:
            out.append(
                OpBreakdown(
                    config=config,
                    variant=str(trials[0]["variant"]),
                    quant=str(trials[0]["quant"]),
                    rows=rows,
                )
            )
    return tuple(sorted(out, key=lambda b: b.config))
