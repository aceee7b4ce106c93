"""The stored shapes of a run: one TrialRecord per benchmark process, one RunMeta.

Records are immutable and validated at creation; every stored file carries
`schema_version` so that a later harness can migrate or refuse it clearly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = 1

TrialStatus = Literal["ok", "failed", "crashed", "timeout", "parse_error", "skipped"]
TRIAL_STATUSES: tuple[str, ...] = ("ok", "failed", "crashed", "timeout", "parse_error", "skipped")
BinaryKind = Literal["official", "stand-in", "unknown"]


def config_key(variant: str, quant: str, threads: int, cores: str, xnnpack: str) -> str:
    """The configuration a trial measures; trials of one key are comparable."""
    return f"{variant}|{quant}|t{threads}|{cores}|xnnpack={xnnpack}"


@dataclass(frozen=True)
class TrialRecord:
    """One `benchmark_model` process on one device: what ran, where, and what it measured.

    Latency fields are microseconds as benchmark_model prints them; `latency_ms`
    is the trial's headline figure: the mean of its timed runs (the regular
    phase's `avg=`), i.e. the number benchmark_model and the published column
    report. Failed trials keep their status, exit code and stderr tail.
    """

    run_id: str
    trial_id: str  # unique within a run: device|config_key|trial_index
    device_serial: str
    device_model: str
    variant: str
    family: str
    depth_multiplier: float
    resolution: int
    quant: str  # fp32 | int8 | dynamic | fp16 | file
    threads: int
    cores: str  # policy name (big, prime, little, all) or an explicit mask
    core_mask: str  # hex mask actually given to taskset, e.g. "c"
    xnnpack: str  # "on" | "off" | "default" (flag not passed)
    trial_index: int  # 0-based within this configuration
    order_index: int  # position in the run's shuffled order
    status: TrialStatus
    started_at: str  # ISO 8601 UTC
    finished_at: str
    wall_s: float  # wall time of the benchmark process on the device
    num_runs: int
    warmup_runs: int
    latency_ms: float | None = None
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
    exit_code: int | None = None
    error: str | None = None
    stderr_tail: str | None = None
    # Device state around the trial (None where the device does not expose it).
    temp_before_c: float | None = None
    temp_after_c: float | None = None
    cooled: bool | None = None  # False: cooldown timed out before the trial
    cooldown_wait_s: float | None = None
    freq_before: dict[str, list[int]] = field(default_factory=dict)  # cpu -> [max_khz, cur_khz]
    freq_after: dict[str, list[int]] = field(default_factory=dict)
    throttled: bool | None = None
    battery_level: int | None = None
    binary_sha256: str | None = None
    binary_kind: BinaryKind = "unknown"
    model_sha256: str | None = None
    # What the log said beyond the latency (additive: records written before have None).
    model_size_mb: float | None = None
    delegate: str | None = None  # the delegate that ran the graph, as the log names it
    delegated_nodes: int | None = None  # nodes it took...
    total_nodes: int | None = None  # ...out of the graph's nodes
    parse_warnings: str | None = None  # absent figures, partial delegation; one per line
    # The A/B arm this trial measured (docs/run.md "A/B runs"); None outside an A/B run.
    # Not part of the configuration key: an A/B check compares the arms of one key.
    arm: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.status not in TRIAL_STATUSES:
            raise ValueError(f"unknown trial status {self.status!r}")
        if self.status == "ok" and self.latency_ms is None:
            raise ValueError("an ok trial needs latency_ms")
        if self.latency_ms is not None and not self.latency_ms > 0:
            raise ValueError(f"latency_ms must be positive, got {self.latency_ms}")

    @property
    def config(self) -> str:
        """This trial's configuration key (see `config_key`)."""
        return config_key(self.variant, self.quant, self.threads, self.cores, self.xnnpack)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (one line of trials.jsonl)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """Build from a stored dict, ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


TRIAL_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrialRecord))
