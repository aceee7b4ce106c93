"""The verdict on what ran a trial, as a record: what `harness.logs.delegation.prove` gives.

Apart from the judging so that a parsed log (`harness.logs.figures.ParsedOutput`)
can carry its proof without the judge and the log importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Verdict = Literal["applied", "partial", "fallback", "failed", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("applied", "partial", "fallback", "failed", "unknown")


@dataclass(frozen=True)
class DelegationProof:
    """Which delegate ran one trial, on how much of its graph, and whether that is what was
    asked for."""

    accelerator: str  # the unit asked for (`gpu`, `nnapi:qti-dsp`, ...)
    inferred: bool  # the unit was read off the log's own flags, not given
    delegate: str | None  # as the tool names it: GPU, NNAPI, XNNPACK, EXTERNAL (None: no delegate)
    node: str | None  # as the runtime names its kernels: TfLiteGpuDelegateV2
    delegated_nodes: int | None
    total_nodes: int | None
    partitions: int | None  # the parts of the graph the delegate runs (its kernels)
    graph_partitions: int | None  # all parts, the CPU's too (`yielding K partitions`)
    verdict: Verdict
    reason: str  # one sentence for people

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, keys in field order."""
        return asdict(self)
