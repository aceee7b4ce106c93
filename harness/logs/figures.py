"""The figures one benchmark_model run printed: its two phases' statistics and the record.

`ParsedOutput.to_dict()` is the `logs` contract of docs/design.md; the
parser (harness.logs.parser) fills it, the trial record embeds its `Figures`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.inputs import parse_int
from harness.logs.delegates import DelegationEvidence
from harness.logs.optable import OpNode
from harness.results.schema import LATE_FIGURES, Figures

if TYPE_CHECKING:  # delegation.py reads ParsedOutput: its type only, to break the circle
    from harness.logs.proof import DelegationProof

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

        count = parse_int(m.group("count"))  # ValueError past the digit bound
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
    figures: Figures = field(default_factory=Figures)
    ops: list[OpNode] = field(default_factory=list)  # the regular runs' Run Order rows
    error: str | None = None
    era: Era | None = None
    binary_id: str | None = None
    warmup: PhaseStats | None = None
    regular: PhaseStats | None = None
    invocations: int = 1  # runs seen (STARTING! lines and more); the figures are the last one's
    evidence: DelegationEvidence = field(default_factory=DelegationEvidence)  # of the last run
    delegation: DelegationProof | None = None  # `delegation.prove` on it, set by the reader

    def to_dict(self) -> dict[str, Any]:
        """The `logs` contract of docs/design.md (JSON-ready)."""
        figures = dataclasses.asdict(self.figures)
        figures["parse_warnings"] = list(self.figures.parse_warnings)
        late = {name: figures.pop(name) for name in LATE_FIGURES}
        return {
            "status": self.status,
            **figures,
            "ops": [op.to_dict() for op in self.ops],
            "error": self.error,
            "era": self.era,
            "binary_id": self.binary_id,
            **late,  # after the first release's keys, as they were added
        }
