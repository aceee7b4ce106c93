"""The stored shape of a trial: one TrialRecord per benchmark process (meta.json: `meta`).

Records are immutable and validated at creation; every stored file carries
`schema_version` so that a later harness can migrate or refuse it clearly.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.logs.proof import Verdict
from harness.vocab import TRIAL_STATUSES, BinaryKind, Config, EnergySource, TrialStatus

SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA_VERSION",
    "TRIAL_FIELDS",
    "TRIAL_STATUSES",
    "BinaryKind",
    "Figures",
    "TrialRecord",
    "TrialStatus",
]


@dataclass(frozen=True)
class Figures:
    """What one benchmark_model process measured, as its log printed it.

    The parser fills it (`ParsedOutput.figures`), the trial record embeds it
    (`TrialRecord.figures`); stored files hold the fields flat. Latencies are
    microseconds, memory is MB.
    """

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
    # What the log said beyond the latency (additive: records written before have None).
    model_size_mb: float | None = None
    delegate: str | None = None  # the delegate that ran the graph, as the log names it
    delegated_nodes: int | None = None  # nodes it took...
    total_nodes: int | None = None  # ...out of the graph's nodes
    parse_warnings: tuple[str, ...] = ()  # absent figures, partial delegation

    def to_flat(self) -> dict[str, Any]:
        """The stored columns: warnings joined one per line, None when there are none."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        flat["parse_warnings"] = "\n".join(self.parse_warnings) or None
        return flat

    @classmethod
    def from_flat(cls, data: Mapping[str, Any]) -> Figures:
        """Gather the figures from a stored (flat) dict; absent keys stay None."""
        values: dict[str, Any] = {f.name: data.get(f.name) for f in dataclasses.fields(cls)}
        warnings = values.pop("parse_warnings")
        if isinstance(warnings, str):
            values["parse_warnings"] = tuple(warnings.split("\n"))
        elif isinstance(warnings, (list, tuple)):
            values["parse_warnings"] = tuple(str(w) for w in warnings)
        return cls(**values)


# What a stored column a record lacks (or holds null) meant when it was written: the
# record predates the field. Loaders fill it in (`TrialRecord.from_dict`, the tables).
ABSENT_MEANS: dict[str, str] = {"accelerator": "cpu"}

# Figures added after the first release, stored after model_sha256 (see _stored_types).
LATE_FIGURES = ("model_size_mb", "delegate", "delegated_nodes", "total_nodes", "parse_warnings")


@dataclass(frozen=True)
class TrialRecord:
    """One `benchmark_model` process on one device: what ran, where, and what it measured.

    Latency fields are microseconds as benchmark_model prints them; `latency_ms`
    is the trial's headline figure: the mean of its timed runs (the regular
    phase's `avg=`), i.e. the number benchmark_model and the published column
    report. Failed trials keep their status, exit code and stderr tail.
    """

    run_id: str
    trial_id: str  # unique within a run: device|configuration key|trial_index
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
    figures: Figures = field(default_factory=Figures)
    exit_code: int | None = None
    error: str | None = None
    stderr_tail: str | None = None
    # Device state around the trial (None where the device does not expose it).
    temp_before_c: float | None = None
    temp_after_c: float | None = None
    cooled: bool | None = None  # False: cooldown timed out before the trial
    cooldown_wait_s: float | None = None
    # Why `cooled` is None though a cooldown was asked (no temperature readable):
    # unknown, not a pass. None when cooled is known or no cooldown was asked.
    cooled_reason: str | None = None
    freq_before: dict[str, list[int]] = field(default_factory=dict)  # cpu -> [max_khz, cur_khz]
    freq_after: dict[str, list[int]] = field(default_factory=dict)
    throttled: bool | None = None
    battery_level: int | None = None
    binary_sha256: str | None = None
    binary_kind: BinaryKind = "unknown"
    model_sha256: str | None = None
    # Proof of what ran, sampled during the trial (harness/bench/proof.py; additive:
    # records written before have None). `throttled` above also covers the clocks seen.
    affinity_cpus: str | None = None  # the benchmark's CPUs as the phone reported them, "4,5"
    proof_samples: int | None = None  # looks at start and exit + samples between (500 ms)
    freq_min_khz: int | None = None  # lowest / highest clock seen on the pinned CPUs
    freq_max_khz: int | None = None
    temp_max_c: float | None = None  # hottest zone seen during the trial
    interference_pct: float | None = None  # other processes' share of the pinned CPUs
    hot: bool | None = None  # temp_max_c reached the cooldown limit
    interfered: bool | None = None  # interference_pct above proof.INTERFERENCE_BOUND_PCT
    log_version: str | None = None  # the log's version line (meta: `binary_version`)
    log_threads: int | None = None  # the thread count the log reports
    log_xnnpack: bool | None = None  # XNNPACK applied per the log (None: it does not say)
    log_mismatch: str | None = None  # how the log contradicts the settings
    proof_warnings: str | None = None  # one line per flag: which and why
    adb_server: str | None = None  # HOST:PORT the phone was reached through (a lab has many)
    # The A/B arm this trial measured (docs/run.md "A/B runs"); None outside an A/B run.
    # Not part of the configuration key: an A/B check compares the arms of one key.
    arm: str | None = None
    # The compute unit asked for and the proof of what ran the graph, from the trial's own
    # log (harness.logs.delegation.prove; the delegate and its node counts are in
    # `figures`). Records written before units were an axis ran on the CPU.
    accelerator: str = "cpu"
    partitions: int | None = None  # the parts of the graph the unit's delegate ran
    delegation: Verdict | None = None  # applied | partial | fallback | failed | unknown
    # Energy per inference over the timed runs, above the idle power (`harness run
    # --energy`, harness/bench/energy.py); None without it, and in records written before.
    energy_mj: float | None = None
    power_mw: float | None = None  # average over the timed runs, above the idle power
    idle_power_mw: float | None = None  # measured just before the trial, subtracted
    energy_source: EnergySource | None = None  # odpm (power rails) | fuel_gauge
    energy_rails: str | None = None  # odpm: the rails summed, "S2M_VDD_CPUCL2,..."
    energy_rail_mj: dict[str, float] | None = None  # odpm: rail -> mJ per inference
    energy_biased: bool | None = None  # the fuel gauge while a charger carried the load
    energy_bound_pct: float | None = None  # what the edges and counter steps could be off by
    energy_reason: str | None = None  # why energy_mj is None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.status not in TRIAL_STATUSES:
            raise ValueError(f"unknown trial status {self.status!r}")
        if self.status == "ok" and self.latency_ms is None:
            raise ValueError("an ok trial needs latency_ms")
        if self.latency_ms is not None and not self.latency_ms > 0:
            raise ValueError(f"latency_ms must be positive, got {self.latency_ms}")

    @property
    def key(self) -> str:
        """This trial's configuration key (`Config.key`)."""
        return Config(
            self.variant, self.quant, self.threads, self.cores, self.xnnpack, self.accelerator
        ).key

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (one line of trials.jsonl): the figures flattened in."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        flat = {**own, **self.figures.to_flat()}
        return {name: _plain(flat[name]) for name in TRIAL_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialRecord:
        """Build from a stored (flat) dict, ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)} - {"figures"}
        own = {k: v for k, v in data.items() if k in names}
        own.update({k: v for k, v in ABSENT_MEANS.items() if own.get(k) is None})
        return cls(**own, figures=Figures.from_flat(data))


def _plain(value: Any) -> Any:
    """A copy of dict and list values, so a stored dict never aliases a record's."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _stored_types() -> dict[str, object]:
    """Column -> type annotation of trials.jsonl, in the order files have always had.

    The figures sit where they sat before they were gathered into `Figures`:
    the latency figures after `latency_ms`, the later additions (LATE_FIGURES)
    after `model_sha256`; so parquet columns and stored lines do not change.
    """
    own = typing.get_type_hints(TrialRecord)
    figures = typing.get_type_hints(Figures)
    figures["parse_warnings"] = str | None  # stored as one string, a warning per line
    early = [n for n in figures if n not in LATE_FIGURES]
    types: dict[str, object] = {}
    for f in dataclasses.fields(TrialRecord):
        if f.name == "figures":
            types.update((n, figures[n]) for n in early)
            continue
        types[f.name] = own[f.name]
        if f.name == "model_sha256":
            types.update((n, figures[n]) for n in LATE_FIGURES)
    return types


STORED_TYPES: dict[str, object] = _stored_types()  # column -> its type annotation
TRIAL_FIELDS: tuple[str, ...] = tuple(STORED_TYPES)
"""The flat columns of trials.jsonl and trials.parquet, in order."""
