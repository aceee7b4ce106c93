"""`harness check`: every configuration of a run against a baseline, one verdict each.

`compare_runs` is the public API (docs/design.md "compare"); the outputs
(console table, JUnit, markdown, JSON) are renderings of its `Comparison`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compare.context import check_pair, pair_devices
from harness.compare.source import METRICS, ConfigId, ConfigSamples, Source, load_source
from harness.compare.stats import (
    METHOD,
    VERDICTS,
    StatsInputError,
    Verdict,
    compare_samples,
    median,
    validate_confidence,
    validate_threshold,
)
from harness.errors import EXIT_FAILURES, EXIT_OK, ContextMismatchError
from harness.results.schema import config_key

COMPARISON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ComparisonRow:
    """One configuration's verdict (fields documented in docs/design.md "compare")."""

    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    device_model: str
    verdict: Verdict
    baseline_median_ms: float | None
    current_median_ms: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_baseline: int
    n_current: int
    threshold: float
    reason: str

    @property
    def config(self) -> str:
        """The configuration key shared with results (`config_key`)."""
        return config_key(self.variant, self.quant, self.threads, self.cores, self.xnnpack)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the configuration key added."""
        return {**dataclasses.asdict(self), "config": self.config}


@dataclass(frozen=True)
class Side:
    """Where one side came from and the device contexts it carried."""

    source: str
    kind: str
    run_ids: tuple[str, ...]
    contexts: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"source": self.source, "kind": self.kind, "run_ids": list(self.run_ids),
                "contexts": self.contexts}


@dataclass
class Comparison:
    """All verdicts of one check, plus what a reader must be warned about."""

    rows: list[ComparisonRow]
    warnings: list[str]
    context_differences: list[str]
    baseline: Side
    current: Side
    threshold: float
    confidence: float
    method: str = METHOD
    thresholds: dict[str, float] = field(default_factory=dict)
    metric: str = "mean"

    @property
    def exit_code(self) -> int:
        """1 when any configuration regressed, else 0."""
        return EXIT_FAILURES if any(r.verdict == "regression" for r in self.rows) else EXIT_OK

    def counts(self) -> dict[str, int]:
        """How many rows got each verdict (every verdict present, zeros included)."""
        return {v: sum(1 for r in self.rows if r.verdict == v) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """What `harness check --json` prints."""
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "method": self.method,
            "metric": self.metric,
            "threshold": self.threshold,
            "thresholds": dict(self.thresholds),
            "confidence": self.confidence,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "warnings": list(self.warnings),
            "context_differences": list(self.context_differences),
            "baseline": self.baseline.to_dict(),
            "current": self.current.to_dict(),
            "rows": [r.to_dict() for r in self.rows],
        }


def threshold_for(variant: str, default: float, thresholds: Mapping[str, float] | None) -> float:
    """A variant's threshold: exact id, else the longest matching fnmatch pattern, else default."""
    if not thresholds:
        return default
    if variant in thresholds:
        return thresholds[variant]
    matches = [p for p in thresholds if fnmatch.fnmatchcase(variant, p)]
    return thresholds[max(matches, key=len)] if matches else default


def _as_source(x: str | Path | Source) -> Source:
    return x if isinstance(x, Source) else load_source(x)


def _metric_view(s: Source, metric: str) -> Source:
    if metric == "mean":
        return s
    configs = {m: {cid: c.with_metric(metric) for cid, c in confs.items()}
               for m, confs in s.configs.items()}
    return dataclasses.replace(s, configs=configs)


def _side(s: Source) -> Side:
    return Side(s.path, s.kind, s.run_ids, {m: dict(c) for m, c in sorted(s.contexts.items())})


def _one_sided_row(
    c: ConfigSamples, verdict: Verdict, threshold: float, model: str
) -> ComparisonRow:
    n = len(c.latency_ms)
    if verdict == "missing":
        reason = "in the baseline, not measured in the current run"
    else:
        reason = "measured in the current run, not in the baseline"
    med = median(c.latency_ms)
    return ComparisonRow(
        c.variant, c.quant, c.threads, c.cores, c.xnnpack, model, verdict,
        med if verdict == "missing" else None, med if verdict == "new" else None,
        None, None, None, None,
        n if verdict == "missing" else 0, n if verdict == "new" else 0, threshold, reason,
    )


def _pair_rows(
    base: dict[ConfigId, ConfigSamples],
    cur: dict[ConfigId, ConfigSamples],
    model: str,
    *,
    threshold: float,
    confidence: float,
    thresholds: Mapping[str, float] | None,
) -> list[ComparisonRow]:
    rows = []
    for cid in sorted(set(base) | set(cur)):
        t = threshold_for(cid[0], threshold, thresholds)
        b, c = base.get(cid), cur.get(cid)
        if b is not None and (c is None or (not c.latency_ms and b.latency_ms)):
            row = _one_sided_row(b, "missing", t, model)
            if c is not None:
                # Measured but every trial failed: say so rather than "not measured".
                row = dataclasses.replace(
                    row, reason=f"no ok trials in the current run ({c.failed} failed)"
                )
            rows.append(row)
            continue
        if c is not None and b is None:
            rows.append(_one_sided_row(c, "new", t, model))
            continue
        if b is None or c is None:  # unreachable: cid came from one of the two
            continue
        res = compare_samples(b.latency_ms, c.latency_ms, threshold=t, confidence=confidence)
        reason = res.reason
        if c.failed:
            reason += f"; {c.failed} current trial(s) failed"
        rows.append(ComparisonRow(
            *cid, model, res.verdict, median(b.latency_ms), median(c.latency_ms), res.ratio,
            res.ci_low, res.ci_high, res.p_value, res.n_baseline, res.n_current, t, reason,
        ))
    return rows


def compare_runs(
    baseline: str | Path | Source,
    current: str | Path | Source,
    *,
    threshold: float = 0.05,
    confidence: float = 0.99,
    thresholds: dict[str, float] | None = None,
    allow_context_change: bool = False,
    metric: str = "mean",
) -> Comparison:
    """Verdicts for every configuration of `current` against `baseline`.

    Raises ContextMismatchError when device model, SoC, ABI or binary differ
    (unless `allow_context_change`: then each difference becomes a warning).
    `metric` picks the per-trial figure: `mean` (the trial's headline latency,
    default), or the `median` / `min` of its timed runs (robust to interference).
    """
    if metric not in METRICS:
        raise StatsInputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    threshold = validate_threshold(threshold)
    confidence = validate_confidence(confidence)
    for value in (thresholds or {}).values():
        validate_threshold(value)
    raw_base, raw_cur = _as_source(baseline), _as_source(current)
    base, cur = _metric_view(raw_base, metric), _metric_view(raw_cur, metric)
    warnings: list[str] = []
    for side, src in (("baseline", raw_base), ("current run", raw_cur)):
        lacking = sum(1 for confs in src.configs.values() for c in confs.values()
                      if len(c.values(metric)) < len(c.latency_ms))
        if lacking:
            warnings.append(f"the {side} lacks per-trial {metric} figures for {lacking} "
                            f"configuration(s); those trials are left out")
    differences: list[str] = []
    rows: list[ComparisonRow] = []
    for side, src in (("baseline", base), ("current run", cur)):
        if src.status not in (None, "complete"):
            warnings.append(f"the {side} {src.path} is {src.status}: only what it measured counts")
    pairs = pair_devices(base.models(), cur.models())
    for bm, cm in pairs:
        label = cm or bm or "?"
        if bm is not None and cm is not None:
            report = check_pair(base.contexts.get(bm, {}), cur.contexts.get(cm, {}), label=label)
            # With several devices, say which one differs.
            differences += [f"{label}: {d}" if len(pairs) > 1 else d for d in report.differences]
            warnings += report.warnings
            rows += _pair_rows(base.configs.get(bm, {}), cur.configs.get(cm, {}), cm,
                               threshold=threshold, confidence=confidence, thresholds=thresholds)
        elif bm is not None:
            warnings.append(f"{bm}: in the baseline, absent from the current run")
            rows += [_one_sided_row(c, "missing", threshold_for(c.variant, threshold, thresholds),
                                    bm) for _, c in sorted(base.configs.get(bm, {}).items())]
        elif cm is not None:
            rows += [_one_sided_row(c, "new", threshold_for(c.variant, threshold, thresholds),
                                    cm) for _, c in sorted(cur.configs.get(cm, {}).items())]
    differences = list(dict.fromkeys(differences))
    if differences and not allow_context_change:
        raise ContextMismatchError(differences)
    warnings = [f"context changed (allowed): {d}" for d in differences] + warnings
    rows.sort(key=lambda r: (r.device_model, r.variant, r.quant, r.threads, r.cores, r.xnnpack))
    return Comparison(
        rows=rows, warnings=list(dict.fromkeys(warnings)), context_differences=differences,
        baseline=_side(base), current=_side(cur), threshold=threshold, confidence=confidence,
        thresholds=dict(thresholds or {}), metric=metric,
    )
