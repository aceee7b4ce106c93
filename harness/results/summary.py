"""One row per device x configuration: the trial latencies reduced to figures people read.

Each trial's headline latency (`latency_ms`, the regular phase's mean) is one
sample; the summary describes the spread *between* trials (separate
processes), which is what the interleaved trial design is there to expose.
Percentiles use numpy's linear interpolation over the trial latencies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import catalogue
from harness.catalogue.order import config_size_key
from harness.errors import UnknownVariantError
from harness.results.cells import Row, given, mode, number, truthy
from harness.results.energy_summary import (
    ENERGY_DTYPES,
    energy_figures,
    energy_notes,
)
from harness.results.flags import flagged_trials
from harness.vocab import FAILED_STATUSES, Config

if TYPE_CHECKING:  # pandas is imported when a summary is computed
    import pandas as pd

GROUP_COLUMNS: tuple[str, ...] = (
    "device_serial",
    "variant",
    "quant",
    "threads",
    "cores",
    "xnnpack",
    "accelerator",
)


@dataclass(frozen=True)
class SummaryRow:
    """One device x configuration: its trials' counts and figures (a row of `summarize`)."""

    device_serial: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    device_model: str | None
    config: str
    n_trials: int
    n_ok: int
    n_failed: int
    median_ms: float | None = None  # the figures of the ok trials' latencies (None: none)
    p5_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None  # sample std between trials (None for one trial)
    cv: float | None = None  # std / mean
    min_ms: float | None = None
    max_ms: float | None = None
    published_ms: float | None = None
    ratio: float | None = None  # median / published Pixel-1 ms
    throttled_trials: int = 0
    uncooled_trials: int = 0  # cooled false: the cooldown timed out before the trial
    cooled_unknown_trials: int = 0  # cooled null with a reason: no temperature was readable
    status: str = "skipped"
    delegate: str | None = None
    delegated_nodes: int | None = None
    total_nodes: int | None = None
    warned_trials: int = 0
    flagged_trials: int = 0  # ok trials with proof flags (throttled, hot, interfered, ...)
    proof_flags: str | None = None  # which and why: "#1 hot+throttled; #3 interfered"
    accelerator: str = "cpu"  # the compute unit asked for
    delegation: str | None = None  # what most trials' proofs say: applied, partial, fallback...
    # Energy per inference over the ok trials (harness.results.energy_summary); run --energy.
    energy_trials: int = 0  # ok trials with an energy figure
    energy_median_mj: float | None = None
    energy_p5_mj: float | None = None
    energy_p95_mj: float | None = None
    power_median_mw: float | None = None  # above the idle power, over the timed runs
    idle_median_mw: float | None = None
    energy_source: str | None = None  # odpm | fuel_gauge
    energy_biased_trials: int = 0  # read on the fuel gauge while a charger carried the load


SUMMARY_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SummaryRow))
_DTYPES: dict[str, str] = {
    "device_serial": "string",
    "variant": "string",
    "quant": "string",
    "threads": "int64",
    "cores": "string",
    "xnnpack": "string",
    "device_model": "string",
    "config": "string",
    "n_trials": "int64",
    "n_ok": "int64",
    "n_failed": "int64",
    "throttled_trials": "int64",
    "uncooled_trials": "int64",
    "cooled_unknown_trials": "int64",
    "status": "string",
    "delegate": "string",
    "delegated_nodes": "Int64",
    "total_nodes": "Int64",
    "warned_trials": "int64",
    "flagged_trials": "int64",
    "proof_flags": "string",
    "accelerator": "string",
    "delegation": "string",
    **ENERGY_DTYPES,
}


# The configuration Google's Pixel-1 column was measured in (the MobileNetV2 README:
# TF-Lite, one thread on the large core, the float model), as `harness run` spells it.
PAPER_CONFIGURATION = {"quant": "fp32", "threads": 1, "cores": "big", "accelerator": "cpu"}


def is_paper_configuration(quant: str, threads: int, cores: str, accelerator: str) -> bool:
    """Whether a configuration is the one the published column was measured in: beside any
    other (4 threads, the little cores, int8, the GPU) it would read as that setup's figure."""
    given = {"quant": quant, "threads": threads, "cores": cores, "accelerator": accelerator}
    return given == PAPER_CONFIGURATION


def published_ms(variant: str) -> float | None:
    """Google's Pixel-1 latency for `variant`, or None (unpublished or not a catalogue id)."""
    try:
        return catalogue.get(variant).published.pixel1_ms
    except UnknownVariantError:
        return None


# Trials whose latencies spread with a CV (sample std / mean) at or above this are
# `noisy`: pyperf's bound (it warns at std >= 10% of the mean). Separate benchmark
# processes on a quiet, pinned phone agree within a few percent; beyond 10% the median
# moves with which trials happened to run, so its ratio to the published figure and any
# comparison built on it are not to be trusted.
NOISY_CV = 0.10


def is_noisy(cv: float | None) -> bool:
    """Whether trials with this CV disagree beyond the bound (None: one trial, unknown)."""
    return cv is not None and cv == cv and cv >= NOISY_CV


def noisy_advice(configs: list[str]) -> str:
    """One line for a person: which figures not to trust, and what to do about it."""
    return (
        f"noisy: trials of {', '.join(configs)} disagree by {NOISY_CV:.0%} or more "
        "(CV of trial latencies): do not trust their median or ratio; rerun them on a quiet "
        "phone (airplane mode, other apps closed, cores pinned, cooled) with more --trials"
    )


def status_notes(summary: pd.DataFrame) -> list[str]:
    """Notes to print under a summary table: `noisy` rows, trials the phone's own
    readings flag (hot, throttled, interfered, log mismatch), and cooldowns that
    timed out or could not be checked; each with what to do."""
    notes: list[str] = []
    several = summary["device_serial"].nunique() > 1

    def name(r: Mapping[Hashable, Any]) -> str:
        where = f"{r['device_serial']} " if several else ""
        unit = r.get("accelerator", "cpu")
        on = "" if unit == "cpu" else f" {unit}"
        return f"{where}{r['variant']} {r['quant']} t{r['threads']}{on}"

    noisy = summary[summary["status"] == "noisy"]
    if len(noisy):
        notes.append(noisy_advice([name(r) for r in noisy.to_dict(orient="records")]))
    notes += energy_notes(summary, name)
    flagged = summary[summary["flagged_trials"] > 0].to_dict(orient="records")
    if flagged:
        notes.append(
            "flagged: " + "; ".join(f"{name(r)} {r['proof_flags']}" for r in flagged) + ": "
            "the phone's own readings say these trials ran hot, throttled, shared their cores "
            "or not as asked (trials.jsonl proof_warnings says which); their figures may show "
            "the phone, not the model: let it cool and rerun them"
        )
    for column, text in (
        ("uncooled_trials", "started before the phone cooled below --cooldown-temp (cooled=false)"),
        (
            "cooled_unknown_trials",
            "ran with no temperature readable: cooled and hot are unknown (null), not passed",
        ),
    ):
        for serial, n in summary.groupby("device_serial", sort=True)[column].sum().items():
            if n:
                notes.append(f"{serial}: {n} trial(s) {text}")
    return notes


def _status(n_ok: int, n_failed: int, cv: float | None = None, fell_back: int = 0) -> str:
    if n_ok and not n_failed:
        return "noisy" if is_noisy(cv) else "ok"
    if n_ok:
        return "partial"
    if n_failed and fell_back == n_failed:
        return "fallback"  # every trial ran on the CPU instead of the unit asked for
    # Nothing measured: "failed" if something was tried, "skipped" if nothing ran.
    return "failed" if n_failed else "skipped"


def _row(key: tuple[Any, ...], group: list[Row]) -> SummaryRow:
    # numpy's median and percentiles, as pandas gives them.
    import numpy as np

    serial, variant, quant, threads, cores, xnnpack, accelerator = key
    statuses = [str(r["status"]) if given(r.get("status")) else None for r in group]
    ok = [r for r, status in zip(group, statuses, strict=True) if status == "ok"]
    lat = np.array(
        [x for x in (number(r.get("latency_ms")) for r in ok) if x is not None], dtype=float
    )
    n_ok = len(ok)
    n_failed = sum(1 for status in statuses if status in FAILED_STATUSES)
    models = [r["device_model"] for r in group if given(r.get("device_model"))]
    median = p5 = p95 = mean = std = cv = low = high = None
    if len(lat):
        mean = float(lat.mean())
        std = float(lat.std(ddof=1)) if len(lat) > 1 else None
        cv = std / mean if std is not None and mean > 0 else None
        median, low, high = float(np.median(lat)), float(lat.min()), float(lat.max())
        p5, p95 = float(np.percentile(lat, 5)), float(np.percentile(lat, 95))
    # The published column is of one configuration: beside another it would read as its own.
    paper = is_paper_configuration(str(quant), int(threads), str(cores), str(accelerator))
    pub = published_ms(str(variant)) if paper else None
    # cooled: True/False as seen; None without a cooldown, or (with a reason) unknown.
    cooled = [r.get("cooled") for r in group]
    flagged = flagged_trials(group)
    delegate, delegated_nodes, total_nodes = _delegation(group)
    warned = sum(1 for r in group if given(r.get("parse_warnings")) and str(r["parse_warnings"]))
    return SummaryRow(
        device_serial=str(serial),
        variant=str(variant),
        quant=str(quant),
        threads=int(threads),
        cores=str(cores),
        xnnpack=str(xnnpack),
        device_model=str(models[0]) if models else None,
        config=Config(
            str(variant), str(quant), int(threads), str(cores), str(xnnpack), str(accelerator)
        ).key,
        n_trials=len(group),
        n_ok=n_ok,
        n_failed=n_failed,
        median_ms=median,
        p5_ms=p5,
        p95_ms=p95,
        mean_ms=mean,
        std_ms=std,
        cv=cv,
        min_ms=low,
        max_ms=high,
        published_ms=pub,
        ratio=median / pub if median is not None and pub else None,
        throttled_trials=sum(1 for r in group if truthy(r.get("throttled"))),
        uncooled_trials=sum(1 for c in cooled if given(c) and not c),
        cooled_unknown_trials=sum(
            1
            for r, c in zip(group, cooled, strict=True)
            if not given(c) and given(r.get("cooled_reason"))
        ),
        status=_status(n_ok, n_failed, cv, fell_back=statuses.count("fallback")),
        delegate=delegate,
        delegated_nodes=delegated_nodes,
        total_nodes=total_nodes,
        warned_trials=warned,
        flagged_trials=len(flagged),
        proof_flags="; ".join(flagged) or None,
        accelerator=str(accelerator),
        delegation=_most(r.get("delegation") for r in group),
        **energy_figures(ok),
    )


def _most(values: Iterable[object]) -> str | None:
    """The value most trials hold, as text (None when none holds one)."""
    top = mode(str(v) for v in values if given(v))
    return None if top is None else str(top)


def _delegation(group: list[Row]) -> tuple[str | None, int | None, int | None]:
    """The delegate its trials name most often, and its node counts (delegated, total)."""
    top = _most(r.get("delegate") for r in group)
    if top is None:
        return None, None, None
    of_top = [r for r in group if given(r.get("delegate")) and str(r["delegate"]) == top]
    counts = []
    for column in ("delegated_nodes", "total_nodes"):
        value = mode(int(x) for x in (number(r.get(column)) for r in of_top) if x is not None)
        counts.append(None if value is None else int(value))
    return top, counts[0], counts[1]


def summary_rows(trials: pd.DataFrame) -> list[SummaryRow]:
    """Per device x config (variant, quant, threads, cores, xnnpack, compute unit): counts
    and ms figures,
    by device, then by model size (largest first).

    `status` is ok (all trials ok), noisy (all ok, but their CV is NOISY_CV or
    more), partial, fallback (none ok: every trial ran on the CPU instead of the unit asked
    for), failed (none ok) or skipped. `delegate`, `delegated_nodes`,
    `total_nodes` are what most trials' logs say; `warned_trials` counts trials
    whose log lacked figures or under-delegated.
    """
    needed = [c for c in GROUP_COLUMNS if c != "accelerator"]  # absent: all on the CPU
    missing = [c for c in (*needed, "status", "latency_ms") if c not in trials.columns]
    if missing:
        raise ValueError(f"not a trials table: missing columns {missing}")
    # One pass to plain dicts, then groups in Python (why: harness.results.cells).
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for record in trials.to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        if "accelerator" not in row:
            row["accelerator"] = "cpu"  # a table from before units were an axis
        key = tuple(row[c] if given(row[c]) else None for c in GROUP_COLUMNS)
        groups.setdefault(key, []).append(row)
    rows = [_row(tuple(group[0][c] for c in GROUP_COLUMNS), group) for group in groups.values()]
    # By device, then by model size (largest first), not as text: `1.0_96` after `1.0_224`
    # would read as a typo.
    rows.sort(
        key=lambda r: (
            r.device_serial,
            config_size_key(r.variant, r.quant, r.threads, r.cores, r.xnnpack),
            r.accelerator,
        )
    )
    return rows


def summarize(trials: pd.DataFrame) -> pd.DataFrame:
    """`summary_rows` as a table: one row per device x config, columns SUMMARY_COLUMNS."""
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    rows = summary_rows(trials)
    out = pd.DataFrame([dataclasses.astuple(r) for r in rows], columns=list(SUMMARY_COLUMNS))
    for column in SUMMARY_COLUMNS:
        dtype: Any = _DTYPES.get(column, "float64")  # a str the pandas stubs cannot narrow
        out[column] = out[column].astype(dtype)
    return out
