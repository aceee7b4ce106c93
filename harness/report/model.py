"""The shapes the report template renders: plain, already-computed values.

Python computes everything here (statistics, ratios, advice, chart SVG); the
jinja2 template only lays these values out, so the template holds no logic a
test could miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

Tone = Literal["ok", "warn", "bad", "info"]


@dataclass(frozen=True)
class VariantRow:
    """One measured configuration (variant x quantization) of one device in one run."""

    config: str  # results.schema.config_key: unique within a section
    variant: str
    family: str
    depth_multiplier: float
    resolution: int
    quant: str
    macs_m: float | None  # published MACs (millions)
    params_m: float | None
    top1: float | None
    published_ms: float | None  # Pixel-1 column
    n_trials: int
    n_ok: int
    n_throttled: int
    median_ms: float | None
    p5_ms: float | None
    p95_ms: float | None
    cv: float | None  # coefficient of variation of the per-trial latencies
    ratio: float | None  # median / published
    status: str  # ok | partial | failed
    trials_ms: tuple[float, ...] = ()  # ok trials' latencies, for the distribution chart
    errors: tuple[str, ...] = ()  # distinct error lines of failed trials
    setup: str = ""  # "t4 big xnnpack=on" when the section mixes threads / cores / XNNPACK
    delegation: str = ""  # "GPU, 40 of 49 nodes" as the trials' logs say; "" if none
    n_warned: int = 0  # trials whose log lacked figures or under-delegated

    @property
    def series(self) -> str:
        """What tells this row's line apart from others of the same variant."""
        return f"{self.quant} {self.setup}".strip()


@dataclass(frozen=True)
class Chart:
    """One inline SVG chart with the words a reader needs to read it."""

    key: str  # stable name, also the prefix of every id inside the SVG
    title: str
    caption: str
    svg: Markup


@dataclass(frozen=True)
class Advice:
    """A warning with what to do about it (pyperf-style: never a bare complaint)."""

    tone: Tone
    title: str
    detail: str
    advice: str


@dataclass(frozen=True)
class Fact:
    """A labelled value of the header (device, binary, settings)."""

    label: str
    value: str


@dataclass(frozen=True)
class Figure:
    """One headline number of the summary strip."""

    label: str
    value: str
    tone: Tone = "info"


@dataclass(frozen=True)
class OpRow:
    """One op type's share of one configuration's profiled time (from --op-profile runs)."""

    node_type: str
    count: int  # nodes of this type in the graph
    avg_ms: float  # summed over those nodes, per inference (profiled, so inflated)
    pct: float


@dataclass(frozen=True)
class OpBreakdown:
    """The op-type table of one configuration and graph."""

    config: str
    variant: str
    quant: str
    graph: str | None  # None: the primary graph; else e.g. "Delegate internal"
    rows: tuple[OpRow, ...]


@dataclass(frozen=True)
class ChangeRow:
    """One configuration's change against the baseline, as harness.compare judged it."""

    config: str
    variant: str
    quant: str
    baseline_ms: float | None
    current_ms: float | None
    change_pct: float | None
    low_pct: float | None  # interval on the change
    high_pct: float | None
    verdict: str  # regression | improvement | unchanged | not significant | missing | ...
    tone: Tone


@dataclass(frozen=True)
class BaselineSection:
    """The comparison with a baseline, or why there is none."""

    source: str
    available: bool
    note: str  # why unavailable, or how verdicts were reached
    rows: tuple[ChangeRow, ...] = ()
    chart: Chart | None = None


@dataclass(frozen=True)
class Section:
    """Everything the report shows about one device in one run."""

    anchor: str  # html id, derived from the section's index, never from device strings
    key: str  # "run_id|serial", used to filter the embedded trial data
    title: str  # device model as reported (escaped by the template)
    subtitle: str
    banners: tuple[str, ...]  # "these are not phone numbers" reasons
    device: tuple[Fact, ...]
    binary: tuple[Fact, ...]
    settings: tuple[Fact, ...]
    figures: tuple[Figure, ...]
    rows: tuple[VariantRow, ...]
    charts: tuple[Chart, ...]
    warnings: tuple[Advice, ...]
    ops: tuple[OpBreakdown, ...] = ()
    op_profile_requested: bool = False
    op_errors: tuple[str, ...] = ()  # why profiling stored nothing, from profiles.jsonl
    baseline: BaselineSection | None = None


@dataclass(frozen=True)
class ReportContext:
    """The whole report: what the template receives."""

    title: str
    generated_at: str
    harness_version: str
    sections: tuple[Section, ...]
    warnings: tuple[Advice, ...] = ()  # across sections (context differing between runs)
    run_dirs: tuple[str, ...] = field(default_factory=tuple)
