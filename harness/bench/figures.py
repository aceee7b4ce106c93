"""The figures one benchmark_model run printed: its two phases' statistics and the record.

`ParsedOutput.to_dict()` is the `bench` contract of docs/design.md; the
parser (harness.bench.parser) fills it, the trial record copies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Era = str  # "2018" | "2019" | "2020+"


@dataclass(frozen=True)
class PhaseStats:
    """One `count=` line: the statistics of a warm-up or regular phase (microseconds)."""

    count: int
    first: float | None
    curr: float | None
    min: float | None
    max: float | None
    avg: float | None
    std: float | None
    p5: float | None = None
    median: float | None = None
    p95: float | None = None
    all_same: bool = False

    @classmethod
    def from_match(cls, m: re.Match[str]) -> PhaseStats:
        def num(name: str) -> float | None:
            value = m.group(name)
            return None if value is None else float(value)

        count = int(m.group("count"))
        curr = num("curr")
        stats = cls(
            count=count,
            first=num("first"),
            curr=curr,
            min=num("min"),
            max=num("max"),
            avg=num("avg"),
            std=num("std"),
            p5=num("p5"),
            median=num("median"),
            p95=num("p95"),
            all_same=m.group("allsame") is not None,
        )
        if stats.avg is None and curr is not None and (count == 1 or stats.all_same):
            # count=1 or "(all same)": every run took `curr`, so the spread is zero.
            return cls(
                count=count,
                first=stats.first if stats.first is not None else curr,
                curr=curr,
                min=curr,
                max=curr,
                avg=curr,
                std=0.0,
                p5=stats.p5,
                median=stats.median,
                p95=stats.p95,
                all_same=stats.all_same,
            )
        return stats


@dataclass
class ParsedOutput:
    """Everything one benchmark_model process printed, reduced to figures and a status."""

    status: str = "parse_error"
    count: int | None = None
    avg_us: float | None = None
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    p5_us: float | None = None
    median_us: float | None = None
    p95_us: float | None = None
    init_us: float | None = None
    first_us: float | None = None
    warmup_avg_us: float | None = None
    inference_avg_us: float | None = None
    mem_init_mb: float | None = None
    mem_overall_mb: float | None = None
    peak_mem_mb: float | None = None
    model_size_mb: float | None = None
    delegate: str | None = None
    delegated_nodes: int | None = None
    total_nodes: int | None = None
    ops: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    era: Era | None = None
    binary_id: str | None = None
    parse_warnings: list[str] = field(default_factory=list)
    warmup: PhaseStats | None = None
    regular: PhaseStats | None = None
    invocations: int = 1  # STARTING! lines seen; a log of several runs is read from its last

    def to_dict(self) -> dict[str, Any]:
        """The `bench` contract of docs/design.md (JSON-ready)."""
        keys = (
            "status", "count", "avg_us", "min_us", "max_us", "std_us", "p5_us", "median_us",
            "p95_us", "init_us", "first_us", "warmup_avg_us", "inference_avg_us", "mem_init_mb",
            "mem_overall_mb", "peak_mem_mb", "ops", "error", "era", "binary_id",
            "model_size_mb", "delegate", "delegated_nodes", "total_nodes", "parse_warnings",
        )  # fmt: skip
        out = {key: getattr(self, key) for key in keys}
        out["ops"] = [dict(op) for op in self.ops]
        out["parse_warnings"] = list(self.parse_warnings)
        return out
