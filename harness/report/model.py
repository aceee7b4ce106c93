"""The shapes the report template renders: plain, already-computed values.

Python computes everything here (statistics, ratios, advice, chart SVG); the
jinja2 template only lays these values out, so the template holds no logic a
test could miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from harness.report.provenance import PHONE, Provenance

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
    status: str  # ok | noisy | partial | failed | skipped
    trials_ms: tuple[float, ...] = ()  # ok trials' latencies, for the distribution chart
    errors: tuple[str, ...] = ()  # distinct error lines of failed trials
    setup: str = ""  # "t4 big xnnpack=on" when the section mixes threads / cores / XNNPACK
    delegation: str = ""  # "GPU, 40 of 49 nodes" as the trials' logs say; "" if none
    n_warned: int = 0  # trials whose log lacked figures or under-delegated
    flagged: str = ""  # ok trials with proof flags, "#1 hot+throttled; #3 interfered"
    stopped: str = ""  # sequential trials: "confident after 7 trials" (meta.json sequential)
    unit: str = "cpu"  # the compute unit asked for (`--accelerator`)

    # Energy per inference over the ok trials (`harness run --energy`); None without it.
    energy_mj: float | None = None  # median, mJ per inference
    energy_p5_mj: float | None = None
    energy_p95_mj: float | None = None
    power_mw: float | None = None  # median power over the timed runs, above idle
    energy_trials: int = 0  # ok trials with a figure
    energy_biased: bool = False  # read on the fuel gauge while a charger carried the load

    @property
    def model_config(self) -> str:
        """The configuration without its unit: the rows of one model and setup, on each unit."""
        return self.config.split("|unit=", 1)[0]

    @property
    def series(self) -> str:
        """What tells this row's line apart from others of the same variant (its unit too)."""
        unit = "" if self.unit == "cpu" else self.unit
        return " ".join(f"{self.quant} {self.setup} {unit}".split())

    @property
    def quant_setup(self) -> str:
        """Quant and setup, as the table's Quant column shows them (the unit has a column)."""
        return f"{self.quant} {self.setup}".strip()


@dataclass(frozen=True)
class Chart:
    """One inline SVG chart with the words a reader needs to read it."""

    key: str  # stable name, also the prefix of every id inside the SVG
    title: str
    caption: str
    svg: Markup
    wide: bool = False  # a tall list of rows: it takes a row of its own, so no box stands empty
    max_px: int = 680  # widest it is shown: its drawn inches at the same text size as the rest


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
    nowrap: bool = False  # a timestamp: wrapping it mid-way makes it unreadable


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
    quantity: str = "latency"  # or energy: then the medians are mJ per inference


@dataclass(frozen=True)
class ArmsSection:
    """An A/B run: arm B against arm A per configuration (harness.compare.ab's verdicts)."""

    a: str
    b: str
    note: str  # how the verdicts were reached
    rows: tuple[ChangeRow, ...]  # baseline_ms: arm A's median, current_ms: arm B's
    chart: Chart | None = None
    energy_rows: tuple[ChangeRow, ...] = ()  # where both arms read energy


@dataclass(frozen=True)
class BaselineSection:
    """The comparison with a baseline, or why there is none."""

    source: str
    available: bool
    note: str  # why unavailable, or how verdicts were reached
    rows: tuple[ChangeRow, ...] = ()
    chart: Chart | None = None
    energy_rows: tuple[ChangeRow, ...] = ()  # where both sides read energy


@dataclass(frozen=True)
class RailRow:
    """One power rail the energy figures summed, as the phone named it."""

    name: str
    feeds: str  # what the meter says it feeds ("CPU(BIG)"); "" when it says nothing
    share: float | None  # of the energy its trials measured (all ok trials together)


@dataclass(frozen=True)
class EnergySection:
    """Where one phone's energy was read (`harness run --energy`) and its rails."""

    source: str  # in words
    note: str  # what the figure covers, and a charger's bias
    rails: tuple[RailRow, ...]  # () for the fuel gauge: the whole phone
    biased: bool


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
    provenance: Provenance = PHONE
    arms: ArmsSection | None = None  # an A/B run's arms side by side
    units: bool = False  # a unit other than the CPU ran: the table says each row's
    energy: EnergySection | None = None  # `harness run --energy`: source and rails

    @property
    def heading(self) -> str:
        """The title as shown: the device model plus what it really was ("Pixel (simulated)")."""
        return self.title + self.provenance.device_tag


@dataclass(frozen=True)
class HistoryLine:
    """One configuration's median per run of a history (None: not measured in that run)."""

    label: str
    depth_multiplier: float
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class StepMark:
    """Where a step starts on the history chart, and the words shown on hover."""

    x: int  # index of the first run at the new level
    y: float  # the new level (ms)
    slower: bool
    text: str


@dataclass(frozen=True)
class HistoryRun:
    """One run of a history, as its row in the runs table."""

    label: str  # meta.json "label", else its date
    run_id: str
    when: str
    path: str
    binary: str
    shown: bool  # has a full section in this report (the newest run of its device)


@dataclass(frozen=True)
class HistoryStep:
    """A step `harness trend` found, as the table beneath the history chart shows it."""

    config: str
    at: str  # label of the first run at the new level
    at_run_id: str
    before_ms: float
    after_ms: float
    change_pct: float
    sure: str  # how sure, in words (size against the run-to-run noise, runs on each side)
    tone: Tone


@dataclass(frozen=True)
class History:
    """Latency over the runs of one device model (never two models on one line)."""

    anchor: str
    device: str  # device model as reported, plus " (simulated)" when it was
    runs: tuple[HistoryRun, ...]
    steps: tuple[HistoryStep, ...]
    chart: Chart | None
    min_step: float  # the smallest step trend reports
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportContext:
    """The whole report: what the template receives."""

    title: str
    generated_at: str
    harness_version: str
    sections: tuple[Section, ...]
    lede: str  # the page's first sentence, true of every section (provenance.lede)
    warnings: tuple[Advice, ...] = ()  # across sections (context differing between runs)
    run_dirs: tuple[str, ...] = field(default_factory=tuple)
    histories: tuple[History, ...] = ()  # one per device model with two or more runs
